/// Credentials assigned to a telling name in code or configuration: `password = "…"`,
/// `"client_secret": "…"`, `API_TOKEN=…`, `<password>…</password>`, `--token …`,
/// `Authorization: Bearer …`. The name decides what kind of value to expect; the value is then
/// judged (`ValueJudgement`), so references, placeholders and words are not reported. A few
/// vendors' keys whose only mark is their name (AWS secret keys and session tokens, Azure storage
/// account keys) are recognised here too.
public struct AssignmentDetector: Detector {
    /// The keywords a credential-like name contains; `bearer` starts an `Authorization` value.
    static let nameKeywords = ["pass", "pwd", "secret", "token", "key", "credential"]

    public var keywords: [Keyword] {
        (Self.nameKeywords + ["bearer"]).map { Keyword($0, caseSensitive: false) }
    }

    enum Kind { case password, secret }

    /// Words that make a name about something other than the credential itself.
    static let refusedWords: Set<String> = [
        "hash", "hashed", "digest", "checksum", "fingerprint", "integrity", "etag", "sha", "sha1",
        "sha256", "sha512", "md5", "salt", "placeholder", "label", "hint", "prompt", "regex",
        "pattern", "field", "policy", "length", "len", "type", "name", "id", "ids", "url", "uri",
        "path", "file", "filename", "dir", "endpoint", "header", "ttl", "expiry", "expires",
        "expiration", "expire", "lifetime", "env", "ref", "arn", "version", "count", "min", "max",
        "format", "prefix", "suffix", "mode", "enabled", "required", "reset", "forgot", "confirm",
        "confirmation", "validator", "validation", "rules", "strength", "input", "column", "kind",
        "scope", "scopes", "provider", "manager", "source", "key_vault", "vault",
        "param", "parameter", "query", "metadata", "description", "title", "message", "msg",
        "error", "template", "encrypted", "masked", "public", "pub", "cert", "certificate",
        "is", "has", "should", "use", "get", "generate", "create", "validate", "verify", "check",
        "size", "bits", "algorithm", "alg", "usage", "index", "limit", "timeout", "interval", "at",
        "issuer", "audience", "refresh_url", "location", "secretref", "selector",
    ]

    /// Words that, last in a name, make it a setting about a credential (`password_encryption`).
    static let refusedLastWords: Set<String> = ["encryption", "method", "mechanism", "algorithm", "policy", "rotation"]

    /// Words that, before `key`, make the name a credential (`api_key`, `accessKey`…).
    static let keyQualifiers: Set<String> = [
        "api", "access", "auth", "private", "signing", "encryption", "master", "client", "app",
        "account", "storage", "subscription", "shared", "secret", "service", "webhook", "admin",
        "license", "primary", "secondary", "session", "consumer", "sendgrid", "stripe", "openai",
    ]

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        if text.at(keyword.lowerBound) | 0x20 == UInt8(ascii: "b") {
            detectBearer(in: text, at: keyword, into: &detections)
            return
        }
        guard let name = identifier(around: keyword, in: text) else { return }
        // Cheap byte checks first: most names are not assigned a literal.
        guard var (value, quoted) = assignedValue(to: name, in: text) else { return }
        // Each name is judged once, from its first keyword.
        guard firstKeyword(in: text, name: name) == keyword.lowerBound else { return }
        let words = Self.words(of: text.string(name))
        guard let kind = Self.kind(of: words) else { return }
        var string = text.string(value)
        if let special = Self.vendorRule(words: words, value: string) {
            detections.append(Detection(rule: special, secret: value, match: name.lowerBound..<value.upperBound))
            return
        }
        // In source code an unquoted value is an expression (`aws_secret = …` above is the
        // exception: name and shape together are specific enough); the literal it falls back to,
        // if any, is the value.
        if !quoted && !text.isConfiguration {
            guard let fallback = fallbackLiteral(in: text, after: value.lowerBound) else { return }
            (value, quoted) = fallback
            string = text.string(value)
        }
        // A checksummed lookalike or a JWT is its own rule's to judge, and it said no; a value
        // that repeats its own name is a label.
        if Self.checksummedPrefixes.contains(where: string.hasPrefix) || string.contains(text.string(name)) { return }
        let plausible = kind == .password
            ? ValueJudgement.isPlausiblePassword(string, quoted: quoted) : ValueJudgement.isPlausibleSecret(string, quoted: quoted)
        guard plausible else { return }
        let rule = kind == .password ? BuiltinRules.genericPassword : BuiltinRules.genericSecret
        detections.append(Detection(rule: rule, secret: value, match: name.lowerBound..<value.upperBound))
    }

    static let checksummedPrefixes = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_", "sgs_", "sgj_", "eyJ"]

    static let nameBytes = ByteSet(ranges: "0-9A-Za-z_.\\-")

    /// The longest name looked at; a longer run of name characters is not a name.
    static let maximumNameLength = 128

    func identifier(around keyword: Range<Int>, in text: ScanText) -> Range<Int>? {
        var start = keyword.lowerBound
        let floor = max(0, keyword.lowerBound - Self.maximumNameLength)
        while start > floor, Self.nameBytes.contains(text[start - 1]) { start -= 1 }
        var end = keyword.upperBound
        let ceiling = min(text.count, keyword.upperBound + Self.maximumNameLength)
        while end < ceiling, Self.nameBytes.contains(text[end]) { end += 1 }
        guard end - start <= Self.maximumNameLength else { return nil }
        // A name does not start or end with `.` or `-` (`--password`, `config.`).
        while start < end, text[start] == UInt8(ascii: ".") || text[start] == UInt8(ascii: "-") { start += 1 }
        while end > start, text[end - 1] == UInt8(ascii: ".") || text[end - 1] == UInt8(ascii: "-") { end -= 1 }
        return start..<end
    }

    private func firstKeyword(in text: ScanText, name: Range<Int>) -> Int? {
        let lower = text.string(name).lowercased()
        var best: Int?
        for keyword in Self.nameKeywords {
            if let found = lower.range(of: keyword) {
                let offset = lower.utf8.distance(from: lower.startIndex, to: found.lowerBound)
                best = min(best ?? offset, offset)
            }
        }
        return best.map { name.lowerBound + $0 }
    }

    /// A name split into lowercase words at `_`, `-`, `.` and camel-case humps.
    static func words(of name: String) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        var previous: UInt8 = 0
        for byte in name.utf8 {
            if byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") {
                if !current.isEmpty { words.append(String(decoding: current, as: UTF8.self)) }
                current = []
            } else {
                let isUpper = (65...90).contains(byte)
                if isUpper, (97...122).contains(previous), !current.isEmpty {
                    words.append(String(decoding: current, as: UTF8.self))
                    current = []
                }
                current.append(ASCII.lowercase(byte))
            }
            previous = byte
        }
        if !current.isEmpty { words.append(String(decoding: current, as: UTF8.self)) }
        return words
    }

    static func kind(of words: [String]) -> Kind? {
        guard let last = words.last, !refusedLastWords.contains(last), !words.contains(where: refusedWords.contains) else { return nil }
        var kind: Kind?
        for (index, word) in words.enumerated() {
            if ["password", "passwd", "pwd", "pass", "passphrase", "passwort", "pw"].contains(word)
                || word.hasSuffix("password") || word.hasSuffix("passwd") {
                return .password
            }
            if ["secret", "token", "apikey", "credential", "credentials", "secrets"].contains(word)
                || word.hasSuffix("secret") || word.hasSuffix("token") || word.hasSuffix("apikey")
                || word.hasSuffix("accesskey") || word.hasSuffix("secretkey") || word.hasSuffix("privatekey") {
                kind = .secret
            }
            if word == "key" || word == "keys", index > 0, keyQualifiers.contains(words[index - 1]) {
                kind = .secret
            }
        }
        return kind
    }

    /// The value assigned to the name and whether it was quoted, or nil when there is no literal
    /// assignment.
    func assignedValue(to name: Range<Int>, in text: ScanText) -> (Range<Int>, Bool)? {
        var position = name.upperBound
        let before = text.at(name.lowerBound - 1)
        // `"password": …` / `'password' => …`: step over the key's closing quote.
        if before == UInt8(ascii: "\"") || before == UInt8(ascii: "'"), text.at(position) == before { position += 1 }
        // `<password>value</password>`
        if before == UInt8(ascii: "<"), text.at(position) == UInt8(ascii: ">") {
            let start = position + 1
            var end = start
            while end < text.count, text[end] != UInt8(ascii: "<"), text[end] != UInt8(ascii: "\n") { end += 1 }
            return end > start && text.at(end) == UInt8(ascii: "<") ? (start..<end, true) : nil
        }
        // `--password value` on a command line.
        if before == UInt8(ascii: "-"), text.at(name.lowerBound - 2) == UInt8(ascii: "-"), text.at(position) == UInt8(ascii: " ") {
            return value(in: text, from: position + 1, bareAllowed: true)
        }
        let quotedName = before == UInt8(ascii: "\"") || before == UInt8(ascii: "'")
        while ASCII.isBlank(text.at(position)) { position += 1 }
        // `<add key="SmtpPassword" value="…"/>`
        if quotedName, text.find("value", in: position..<min(text.count, position + 5), ignoringCase: true) == position {
            var cursor = position + 5
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            if text.at(cursor) == UInt8(ascii: "=") {
                cursor += 1
                while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
                return value(in: text, from: cursor, bareAllowed: false)
            }
        }
        // `define('DB_PASSWORD', '…')`, `setenv("API_TOKEN", "…")`
        if quotedName, text.at(position) == UInt8(ascii: ",") {
            var cursor = position + 1
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            return value(in: text, from: cursor, bareAllowed: false)
        }
        // SQL `PASSWORD '…'` / `IDENTIFIED BY '…'`, `.netrc` `password …`: a bare keyword and its value.
        if position > name.upperBound, name.count <= 8, text.string(name).lowercased() == "password" {
            if text.at(position) == UInt8(ascii: "'") { return value(in: text, from: position, bareAllowed: false) }
            if text.isConfiguration, ASCII.isAlphanumeric(text.at(position)) || "!#%^*-_.+~@".utf8.contains(text.at(position)) {
                return value(in: text, from: position, bareAllowed: true)
            }
        }
        guard let afterOperator = skipOperator(in: text, at: position) else { return nil }
        position = afterOperator
        while ASCII.isBlank(text.at(position)) { position += 1 }
        // An expression such as `Env.get("X") ?? "fallback"` has no value of its own here.
        return value(in: text, from: position, bareAllowed: startsLine(name, in: text)) ?? fallbackLiteral(in: text, after: position)
    }

    /// `os.environ.get("X", "fallback")`, `env("X") ?? "fallback"`, `cond ? undefined : "fallback"`:
    /// the literal a lookup falls back to is in the code, so it is the value.
    private func fallbackLiteral(in text: ScanText, after start: Int) -> (Range<Int>, Bool)? {
        let end = min(text.lineEnd(after: start), start + 300)
        var position = start
        var sawQuestionMark = false
        while position < end {
            let byte = text[position]
            var next: Int?
            let pair = (byte, text.at(position + 1))
            if pair == (UInt8(ascii: "?"), UInt8(ascii: "?")) || pair == (UInt8(ascii: "|"), UInt8(ascii: "|")) || pair == (UInt8(ascii: "?"), UInt8(ascii: ":")) {
                next = position + 2
            } else if byte == UInt8(ascii: "?") {
                sawQuestionMark = true
            } else if byte == UInt8(ascii: ":"), sawQuestionMark {
                // The `else` branch of `cond ? a : "fallback"`.
                next = position + 1
            } else if byte == UInt8(ascii: ","), isLookup(text, start..<position) {
                // The default of `environ.get("X", "fallback")`, `ENV.fetch("X", "fallback")`.
                next = position + 1
            } else if byte == UInt8(ascii: " "), text.find(" or ", in: position..<min(end, position + 4), ignoringCase: false) == position {
                next = position + 4
            }
            if var cursor = next {
                while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
                let quote = text.at(cursor)
                if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                    return value(in: text, from: cursor, bareAllowed: false)
                }
            }
            position += 1
        }
        return nil
    }

    /// Whether an expression reads a setting that may have a default: an environment or
    /// configuration lookup.
    private func isLookup(_ text: ScanText, _ range: Range<Int>) -> Bool {
        ["getenv", "environ", "env", ".get(", "fetch(", "getproperty", "config("].contains { text.contains($0, in: range) }
    }

    /// After `=`, `:`, `:=`, `=>`, `?=` or a type annotation (`: String =`); nil for anything else,
    /// such as `==` or `::`.
    private func skipOperator(in text: ScanText, at position: Int) -> Int? {
        let first = text.at(position), second = text.at(position + 1)
        switch first {
        case UInt8(ascii: "="):
            if second == UInt8(ascii: "=") || second == UInt8(ascii: "~") { return nil }
            return second == UInt8(ascii: ">") ? position + 2 : position + 1
        case UInt8(ascii: "?"):
            return second == UInt8(ascii: "=") ? position + 2 : nil
        case UInt8(ascii: ":"):
            if second == UInt8(ascii: "=") { return position + 2 }
            if second == UInt8(ascii: ":") { return nil }
            // `: String = "…"`, `: str = "…"`
            var cursor = position + 1
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            let typeStart = cursor
            while ASCII.isAlphanumeric(text.at(cursor)) || text.at(cursor) == UInt8(ascii: "?") || text.at(cursor) == UInt8(ascii: "[") || text.at(cursor) == UInt8(ascii: "]") { cursor += 1 }
            if cursor > typeStart, (65...90).contains(text.at(typeStart)) || text.string(typeStart..<cursor) == "str" || text.string(typeStart..<cursor) == "string" {
                var after = cursor
                while ASCII.isBlank(text.at(after)) { after += 1 }
                if text.at(after) == UInt8(ascii: "="), text.at(after + 1) != UInt8(ascii: "=") { return after + 1 }
                // `token: TokenKind?` declares a type; there is no value. (`Env.get(…)` is an expression.)
                let next = text.at(cursor)
                if !text.isConfiguration, next != UInt8(ascii: "."), next != UInt8(ascii: "(") { return nil }
            }
            return position + 1
        default:
            return nil
        }
    }

    /// Whether the name is the first thing on its line (`KEY=value` files, YAML, INI, Dockerfile
    /// `ENV`, shell `export`), where a value needs no quotes.
    private func startsLine(_ name: Range<Int>, in text: ScanText) -> Bool {
        var position = name.lowerBound
        let quote = text.at(position - 1)
        if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") { position -= 1 }
        while position > 0, ASCII.isBlank(text[position - 1]) { position -= 1 }
        var wordStart = position
        while wordStart > 0, position - wordStart < 8, !ASCII.isBlank(text[wordStart - 1]), text[wordStart - 1] != UInt8(ascii: "\n") {
            wordStart -= 1
        }
        var lineStart = wordStart
        while lineStart > 0, ASCII.isBlank(text[lineStart - 1]) { lineStart -= 1 }
        guard lineStart == 0 || text[lineStart - 1] == UInt8(ascii: "\n") else { return false }
        return Self.lineLeads.contains(Array(UnsafeBufferPointer(rebasing: text.bytes[wordStart..<position])))
    }

    /// What may come before a name at the start of a line: YAML list dashes, shell and Dockerfile
    /// keywords.
    static let lineLeads: Set<[UInt8]> = Set(["", "-", "export", "ENV", "ARG", "set", "SET", "setx", "$env:"].map { Array($0.utf8) })

    private func value(in text: ScanText, from start: Int, bareAllowed: Bool) -> (Range<Int>, Bool)? {
        var position = start
        var quote = text.at(position)
        // Python's r"", b"", u"" prefixes; f-strings are templates.
        if "rbuRBU".utf8.contains(quote), text.at(position + 1) == UInt8(ascii: "\"") || text.at(position + 1) == UInt8(ascii: "'") {
            position += 1
            quote = text.at(position)
        }
        if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") || quote == UInt8(ascii: "`") {
            let valueStart = position + 1
            var end = valueStart
            while end < text.count, end - valueStart < 1024 {
                let byte = text[end]
                if byte == UInt8(ascii: "\n") { return nil }
                if byte == UInt8(ascii: "\\") { end += 2; continue }
                if byte == quote { return end > valueStart ? (valueStart..<end, true) : nil }
                end += 1
            }
            return nil
        }
        guard bareAllowed else { return nil }
        var end = position
        while end < text.count, end - position < 1024 {
            let byte = text[end]
            if byte <= 32 || ";,#\"'`)}]([".utf8.contains(byte) { break }
            end += 1
        }
        // `os.environ["X"]`, `getenv("X")`, `value.strip()`: code, not a literal.
        if "([\"'`".utf8.contains(text.at(end)) { return nil }
        return end > position ? (position..<end, false) : nil
    }

    private func detectBearer(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        guard keyword.count == 6, text.at(keyword.upperBound) == UInt8(ascii: " "),
              !ASCII.isAlphanumeric(text.at(keyword.lowerBound - 1)),
              text.contains("authorization", in: text.lineStart(before: keyword.lowerBound)..<keyword.lowerBound)
        else { return }
        let start = keyword.upperBound + 1
        var end = start
        while end < text.count, ByteSet.base64URL.contains(text[end]) || "+/=.~".utf8.contains(text[end]) { end += 1 }
        guard end > start else { return }
        let value = text.string(start..<end)
        // A JWT is reported by its own rule.
        guard !value.hasPrefix("eyJ"), ValueJudgement.isPlausibleSecret(value) else { return }
        detections.append(Detection(rule: BuiltinRules.genericSecret, secret: start..<end, match: keyword.lowerBound..<end))
    }

    /// Vendors' keys recognised by their name and shape.
    static func vendorRule(words: [String], value: String) -> Rule? {
        let base64 = value.utf8.allSatisfy { ByteSet.base64.contains($0) || $0 == UInt8(ascii: "=") }
        // Runs of one character are normal here (session tokens hold `//////////`).
        guard base64, !ValueJudgement.knownExamples.contains(value), !value.lowercased().contains("example") else { return nil }
        let joined = words.joined()
        let length = value.utf8.count
        if length == 40, joined.contains("secret"), joined.contains("aws") || joined.contains("secretaccesskey"),
           !value.contains("=") {
            return BuiltinRules.awsSecretAccessKey
        }
        if length >= 100, joined.contains("session"), joined.contains("token"), joined.contains("aws") || words.contains("session") {
            return BuiltinRules.awsSessionToken
        }
        if length == 88, value.hasSuffix("=="), joined.contains("key"), joined.contains("account") || joined.contains("storage") {
            return BuiltinRules.azureStorageAccountKey
        }
        return nil
    }
}

import Foundation
