/// Credentials assigned to a telling name in code or configuration: `password = "…"`,
/// `"client_secret": "…"`, `API_TOKEN=…`, `<password>…</password>`, `--token …`,
/// `Authorization: Bearer …`. The name decides what kind of value to expect; the value is then
/// judged (`ValueJudgement`), so references, placeholders and words are not reported. A few
/// vendors' keys whose only mark is their name (AWS secret keys and session tokens, Azure storage
/// account keys) are recognised here too.
public struct AssignmentDetector: Detector {
    /// The keywords a credential-like name contains; `bearer` starts an `Authorization` value.
    static let nameKeywords = ["pass", "pwd", "secret", "token", "key", "credential", "erlang_cookie"]
    static let nameKeywordBytes = nameKeywords.map { Array($0.utf8) }

    public var keywords: [Keyword] {
        // A keyword's first two bytes are looked up at every position of the text, so a common
        // pair costs every file: `erlang_cookie` only as environment variables spell it (`er` is
        // in half the words of English), `Basic ` as written and `basic` only after git's
        // `AUTHORIZATION: ` (`ba` starts `base`, `back`, `database`…). The header's name is
        // looked for before `Basic ` and `bearer`.
        (Self.nameKeywords.filter { $0 != "erlang_cookie" } + ["bearer"]).map { Keyword($0, caseSensitive: false) }
            + ["ERLANG_COOKIE", "Basic ", "AUTHORIZATION: "].map { Keyword($0) }
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
        "error", "template", "encrypted", "masked", "public", "pub", "publishable", "cert", "certificate",
        "is", "has", "should", "use", "get", "generate", "create", "validate", "verify", "check",
        "size", "bits", "algorithm", "alg", "usage", "index", "limit", "timeout", "interval", "at",
        "issuer", "audience", "refresh_url", "location", "secretref", "selector",
        // Pagination and anti-forgery tokens are not credentials.
        "page", "cursor", "continuation", "pagination", "csrf", "xsrf",
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
            detectAuthorization(in: text, at: keyword, into: &detections)
            return
        }
        if text.at(keyword.lowerBound) == UInt8(ascii: "A") {
            // `AUTHORIZATION: basic …` (git's http.extraheader): the scheme in any case.
            let scheme = keyword.upperBound..<(keyword.upperBound + 6)
            if scheme.upperBound <= text.count, text.find("basic ", in: scheme) == scheme.lowerBound {
                detectAuthorization(in: text, at: scheme, into: &detections)
            }
            return
        }
        guard let name = identifier(around: keyword, in: text) else { return }
        // Cheap byte checks first: most names are not assigned a literal.
        if let (value, quoted) = assignedValue(to: name, in: text) {
            // Each name is judged once, from its first keyword.
            guard firstKeyword(in: text, name: name) == keyword.lowerBound else { return }
            let words = Self.words(of: text.string(name))
            // `?key=…` in a query string is an API key.
            let isQueryKey = words == ["key"] && (text.at(name.lowerBound - 1) == UInt8(ascii: "?") || text.at(name.lowerBound - 1) == UInt8(ascii: "&"))
            guard let kind = Self.kind(of: words) ?? (isQueryKey ? Kind.secret : nil) else {
                // `GCP_SA_KEY_BASE64: …`: a name that says its value is base64 has it decoded,
                // and a credential inside is reported with its own rule.
                if words.contains(where: Self.encodingWords.contains), let rule = Self.decodedRule(text.string(value)) {
                    detections.append(Detection(rule: rule, secret: value, match: name.lowerBound..<value.upperBound))
                }
                return
            }
            report(value, quoted: quoted, name: name, words: words, kind: kind, match: name.lowerBound..<value.upperBound, in: text, into: &detections)
            return
        }
        // No value on the name's line: a block, a sibling `value:` or the next list item may hold it.
        let split = splitValues(of: name, in: text)
        guard !split.isEmpty, firstKeyword(in: text, name: name) == keyword.lowerBound else { return }
        let words = Self.words(of: text.string(name))
        guard let kind = Self.kind(of: words) else { return }
        for (value, quoted, childWords) in split {
            // A child named like a credential itself is judged by its own name.
            let ownKind = childWords.flatMap(Self.kind(of:)) ?? kind
            report(value, quoted: quoted, name: name, words: childWords ?? words, kind: ownKind, match: value, in: text, into: &detections)
        }
    }

    /// Judges `value`, assigned to a name of `words` and `kind`, and reports it if it is a credential.
    private func report(
        _ value: Range<Int>, quoted: Bool, name: Range<Int>, words: [String], kind: Kind, match: Range<Int>,
        in text: ScanText, into detections: inout [Detection]
    ) {
        var value = value, quoted = quoted, match = match
        var string = text.string(value)
        if let special = Self.vendorRule(words: words, value: string) {
            detections.append(Detection(rule: special, secret: value, match: match))
            return
        }
        // In source code an unquoted value is an expression (`aws_secret = …` above is the
        // exception: name and shape together are specific enough); the literal it falls back to,
        // if any, is the value.
        if !quoted && !text.isConfiguration(at: value.lowerBound) {
            guard let fallback = fallbackLiteral(in: text, after: value.lowerBound) else { return }
            (value, quoted) = fallback
            if match.upperBound < value.upperBound { match = match.lowerBound..<value.upperBound }
            string = text.string(value)
        }
        // A reference with a literal default is that default: `${DB_PASSWORD:-…}`, Spring's
        // `${DB_PASSWORD:…}`, `${{ secrets.X || '…' }}`, `{{ .Values.x | default "…" }}`.
        if string.hasPrefix("{{") || string.hasPrefix("${{") {
            guard let fallback = fallbackLiteral(in: text, after: value.lowerBound) else { return }
            (value, quoted) = fallback
            string = text.string(value)
        } else if let fallback = Self.shellDefault(in: text, at: value.lowerBound) {
            (value, quoted) = (fallback, true)
            string = text.string(value)
        }
        // `-passin pass:…`: OpenSSL's password argument.
        if string.hasPrefix("pass:"), string.utf8.count > 5 {
            value = (value.lowerBound + 5)..<value.upperBound
            string = text.string(value)
        }
        // A checksummed lookalike or a JWT is its own rule's to judge, and it said no; a value
        // that repeats its own name is a label.
        if Self.checksummedPrefixes.contains(where: string.hasPrefix) || (name.upperBound <= value.lowerBound && string.contains(text.string(name))) { return }
        // A base64 value under a credential's name is decoded: a token or URL inside keeps its own rule.
        if let rule = Self.decodedRule(string) {
            detections.append(Detection(rule: rule, secret: value, match: match))
            return
        }
        let plausible = kind == .password
            ? ValueJudgement.isPlausiblePassword(string, quoted: quoted) : ValueJudgement.isPlausibleSecret(string, quoted: quoted)
        guard plausible, !isUnderEncryptedBlock(name, in: text) else { return }
        let rule = kind == .password ? BuiltinRules.genericPassword : BuiltinRules.genericSecret
        detections.append(Detection(rule: rule, secret: value, match: match))
    }

    /// The rule of what a base64 value decodes to, when that is text holding a credential of
    /// another rule (a token, a URL with a password, a key).
    static func decodedRule(_ value: String) -> Rule? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 20, bytes.count <= maximumValueLength, Base64Text.isBase64(bytes[...]),
              let decoded = Base64Text.decode(bytes[...]), Base64Text.isText(decoded)
        else { return nil }
        guard let rule = DecodedText.strongestRule(in: decoded), rule.precedence > BuiltinRules.genericSecret.precedence else { return nil }
        return rule
    }

    static let checksummedPrefixes = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_", "sgs_", "sgj_", "eyJ"]

    static let nameBytes = ByteSet(ranges: "0-9A-Za-z_.\\-")

    /// The longest value read after a name: a base64 service-account key or kubeconfig is a line
    /// of several KiB, decoded whole (`decodedRule`).
    static let maximumValueLength = 64 * 1024

    /// The longest bare value that is not base64 (a password or token is far shorter).
    static let shortValueLength = 1024

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
        var best: Int?
        for keyword in Self.nameKeywordBytes {
            if let found = text.find(keyword, in: name) { best = min(best ?? found, found) }
        }
        return best
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

    /// Words ending in `pass` that are not a password (`requirepass`, `storepass` and `keypass` are).
    static let notPasswordPassWords: Set<String> = [
        "bypass", "compass", "surpass", "overpass", "underpass", "trespass", "encompass", "multipass", "onepass",
        "singlepass", "firstpass", "secondpass", "twopass", "subpass", "renderpass", "mainpass", "shadowpass", "askpass",
    ]

    /// Names of keys that vendors publish in client code: Pusher's app key (`MIX_PUSHER_APP_KEY`) goes
    /// into the browser, its `PUSHER_APP_SECRET` does not.
    static let publicKeyNames: Set<String> = ["pusherappkey", "pusherkey"]

    static func kind(of words: [String]) -> Kind? {
        guard let last = words.last, !refusedLastWords.contains(last), !words.contains(where: refusedWords.contains) else { return nil }
        if last == "key", publicKeyNames.contains(where: words.joined().hasSuffix) { return nil }
        // SigV4's `X-Amz-Credential` is a scope: the access key id (its own rule's) and a date.
        if last == "credential", words.count >= 2, words[words.count - 2] == "amz" { return nil }
        var kind: Kind?
        for (index, word) in words.enumerated() {
            if ["password", "passwd", "pwd", "pass", "passphrase", "passwort", "pw", "passwords", "passwds"].contains(word)
                || word.hasSuffix("password") || word.hasSuffix("passwd")
                || (word.hasSuffix("pass") && !notPasswordPassWords.contains(word)) {
                return .password
            }
            if ["secret", "token", "apikey", "credential", "credentials", "secrets", "tokens", "apikeys"].contains(word)
                || word.hasSuffix("secret") || word.hasSuffix("token") || word.hasSuffix("apikey")
                || word.hasSuffix("accesskey") || word.hasSuffix("secretkey") || word.hasSuffix("privatekey") {
                kind = .secret
            }
            if word == "key" || word == "keys", index > 0, keyQualifiers.contains(words[index - 1]) {
                kind = .secret
            }
            // RabbitMQ's and Erlang's shared cluster secret.
            if word == "cookie", index > 0, words[index - 1] == "erlang" { kind = .secret }
        }
        return kind
    }

    /// Words that say a value is encoded (`SA_KEY_BASE64`), so it is decoded.
    static let encodingWords: Set<String> = ["base64", "b64", "base64encoded"]

    /// Words of a block whose values are ciphertext, safe to commit (a SealedSecret's
    /// `encryptedData:`, SOPS' `encrypted:`), so its children are not credentials.
    static let encryptedBlockWords: Set<String> = ["encrypted", "encrypteddata", "sealed", "ciphertext"]

    /// How far above a YAML key its enclosing block's key is looked for.
    static let parentWindowLines = 64

    /// Whether the name is a key inside a block whose key says it holds ciphertext.
    func isUnderEncryptedBlock(_ name: Range<Int>, in text: ScanText) -> Bool {
        guard text.isConfiguration(at: name.lowerBound) else { return false }
        var lineStart = text.lineStart(before: name.lowerBound)
        let indent = Self.indentation(at: lineStart, in: text)
        guard indent > 0, lineStart + indent + 1 >= name.lowerBound else { return false }
        var lines = 0
        while lineStart > 0, lines < Self.parentWindowLines {
            lineStart = text.lineStart(before: lineStart - 1)
            lines += 1
            let ind = Self.indentation(at: lineStart, in: text)
            let content = lineStart + ind
            guard ind < indent, content < text.count, !Self.isLineEnd(text[content]), text[content] != UInt8(ascii: "#") else { continue }
            guard let (key, _) = Self.key(at: content, in: text) else { return false }
            return Self.words(of: text.string(key)).contains(where: Self.encryptedBlockWords.contains)
        }
        return false
    }

    /// The value assigned to the name and whether it was quoted, or nil when there is no literal
    /// assignment.
    func assignedValue(to name: Range<Int>, in text: ScanText) -> (Range<Int>, Bool)? {
        var position = name.upperBound
        let before = text.at(name.lowerBound - 1)
        let isQuote = { (byte: UInt8) in byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") }
        // `"X-Api-Key: …"`: a header inside a string (`curl -H`, a header list), its value up to the quote.
        if isQuote(before), text.at(position) == UInt8(ascii: ":"), ASCII.isBlank(text.at(position + 1)) {
            var start = position + 1
            while ASCII.isBlank(text.at(start)) { start += 1 }
            var end = start
            while end < text.count, end - start < 1024, text[end] != before, text[end] != UInt8(ascii: "\n"), !ASCII.isBlank(text[end]) { end += 1 }
            if end > start, text.at(end) == before, !isQuote(text[start]) { return (start..<end, true) }
        }
        // `"password": …` / `'password' => …`: step over the key's closing quote.
        if isQuote(before), text.at(position) == before { position += 1 }
        // `<password>value</password>`
        if before == UInt8(ascii: "<"), text.at(position) == UInt8(ascii: ">") {
            let start = position + 1
            var end = start
            while end < text.count, text[end] != UInt8(ascii: "<"), text[end] != UInt8(ascii: "\n") { end += 1 }
            return end > start && text.at(end) == UInt8(ascii: "<") ? (start..<end, true) : nil
        }
        if before == UInt8(ascii: "-") {
            let dashes = text.at(name.lowerBound - 2) == UInt8(ascii: "-") ? 2 : 1
            let lead = text.at(name.lowerBound - dashes - 1)
            let isFlag = dashes == 2 || (name.count >= 4 && (lead == 0 || ASCII.isBlank(lead) || isQuote(lead) || lead == UInt8(ascii: "\n")))
            // `--password value` on a command line (`-storepass value` too); outside code the
            // argument is a literal word.
            if isFlag, text.at(position) == UInt8(ascii: " ") {
                return value(in: text, from: position + 1, bareAllowed: true).map { ($0.0, $0.1 || text.isConfiguration(at: position)) }
            }
            // `["redis-server", "--requirepass", "…"]`, `[--password, …]`: the next element of an array.
            if isFlag {
                var cursor = position
                if isQuote(lead), text.at(cursor) == lead { cursor += 1 }
                while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
                if text.at(cursor) == UInt8(ascii: ",") {
                    cursor += 1
                    while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
                    return value(in: text, from: cursor, bareAllowed: true, allowQuoteEnd: false)
                }
            }
        }
        let quotedName = isQuote(before)
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
        // `{name: DB_PASSWORD, value: "…"}` (a YAML flow mapping).
        if !quotedName, text.at(position) == UInt8(ascii: ","), position == name.upperBound {
            var cursor = position + 1
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            if let sibling = siblingValueKey(in: text, at: cursor) { return value(in: text, from: sibling, bareAllowed: true) }
        }
        // `define('DB_PASSWORD', '…')`, `setenv("API_TOKEN", "…")`; `{"name": "DB_PASSWORD", "value": "…"}`.
        if quotedName, text.at(position) == UInt8(ascii: ",") {
            var cursor = position + 1
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            if let sibling = siblingValueKey(in: text, at: cursor) { return value(in: text, from: sibling, bareAllowed: false) }
            return value(in: text, from: cursor, bareAllowed: false)
        }
        // SQL `PASSWORD '…'` / `IDENTIFIED BY '…'`, `.netrc` `password …`, redis.conf `requirepass …`:
        // a bare keyword and its value.
        if position > name.upperBound, name.count <= 11, ["password", "requirepass", "masterauth"].contains(text.string(name).lowercased()) {
            if text.at(position) == UInt8(ascii: "'") { return value(in: text, from: position, bareAllowed: false) }
            if text.isConfiguration(at: position), startsLine(name, in: text) || text.string(name).lowercased() == "password",
               !isOptionArgument(name, in: text),
               ASCII.isAlphanumeric(text.at(position)) || "!#%^*-_.+~@".utf8.contains(text.at(position)) {
                return value(in: text, from: position, bareAllowed: true)
            }
        }
        // `aws configure set aws_secret_access_key …`, `npm config set …`: a setter's name and value.
        if position > name.upperBound, isSetterArgument(name, in: text), text.at(position) != UInt8(ascii: "=") {
            return value(in: text, from: position, bareAllowed: true)
        }
        guard var afterOperator = skipOperator(in: text, at: position) else {
            // `.properties`: `password==x` and `password ==x` are the value `=x`.
            if text.format == .properties || (text.isConfiguration && startsLine(name, in: text)),
               text.at(position) == UInt8(ascii: "="), text.at(position + 1) == UInt8(ascii: "="),
               text.at(position + 2) > 32 {
                return value(in: text, from: position + 1, bareAllowed: true)
            }
            return nil
        }
        let operatorAt = position
        while ASCII.isBlank(text.at(afterOperator)) { afterOperator += 1 }
        position = afterOperator
        // `"DB_PASSWORD=…"` (a compose environment item, `docker run -e "…"`): the value is the
        // rest of the string, `#` and all, up to a blank or an escape (`printf 'A=b\nC=d'`).
        if quotedName, operatorAt == name.upperBound, text.at(operatorAt) == UInt8(ascii: "="), position == operatorAt + 1 {
            var end = position
            while end < text.count, end - position < 1024, text[end] != before, text[end] > 32, text[end] != UInt8(ascii: "\\") { end += 1 }
            if end > position { return (position..<end, true) }
        }
        // `= <<EOT` (a heredoc) and `: |` / `: >-` (a block scalar): the value is on the next line.
        if text.at(position) == UInt8(ascii: "<"), text.at(position + 1) == UInt8(ascii: "<") { return nil }
        if text.at(position) == UInt8(ascii: "|") || text.at(position) == UInt8(ascii: ">") {
            var cursor = position + 1
            while "-+0123456789".utf8.contains(text.at(cursor)) || ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            if Self.isLineEnd(text.at(cursor)) { return nil }
        }
        if startsLine(name, in: text) {
            return value(in: text, from: position, bareAllowed: true, allowQuoteEnd: quotedName)
                ?? fallbackLiteral(in: text, after: position)
        }
        // `[DEBUG] Using API_KEY=…`, `?access_token=…`, `--password=…`: a bare value inside a line.
        if let context = inlineContext(name, operatorAt: operatorAt, in: text) {
            guard let (range, quoted) = value(in: text, from: position, bareAllowed: true, allowQuoteEnd: true, stopAtAmpersand: context == .query)
            else { return fallbackLiteral(in: text, after: position) }
            // In code, a query or a flag is inside a string, and so is an assignment in Markdown
            // prose: its value is a literal. Outside code, a value inside a line (a flag, a log
            // line, a query) is a literal word too.
            let literal = text.isConfiguration(at: position)
                || context != .line || text.format == .markdown || "\"'`".utf8.contains(text.at(range.upperBound))
            return (range, quoted || literal)
        }
        // An expression such as `Env.get("X") ?? "fallback"` has no value of its own here.
        return value(in: text, from: position, bareAllowed: false) ?? fallbackLiteral(in: text, after: position)
    }

    /// After `"name": "X",` (at `position`): where the value of a following `"value":` key starts.
    func siblingValueKey(in text: ScanText, at position: Int) -> Int? {
        var cursor = position
        let quote = text.at(cursor)
        if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") { cursor += 1 }
        let keyStart = cursor
        while Self.nameBytes.contains(text.at(cursor)), cursor - keyStart < 32 { cursor += 1 }
        guard cursor > keyStart, Self.valueKeys.contains(text.string(keyStart..<cursor).lowercased()) else { return nil }
        if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
            guard text.at(cursor) == quote else { return nil }
            cursor += 1
        }
        while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
        guard text.at(cursor) == UInt8(ascii: ":") || text.at(cursor) == UInt8(ascii: "=") else { return nil }
        cursor += 1
        while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
        return cursor
    }

    /// Whether the word before the name is a command's option (`grep -qw password config/`): the
    /// name is that option's argument, not a keyword followed by its value.
    private func isOptionArgument(_ name: Range<Int>, in text: ScanText) -> Bool {
        var end = name.lowerBound
        while end > 0, ASCII.isBlank(text[end - 1]) { end -= 1 }
        guard end < name.lowerBound else { return false }
        var start = end
        while start > 0, end - start < 64, !ASCII.isBlank(text[start - 1]), text[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        return start < end && text[start] == UInt8(ascii: "-")
    }

    /// Whether the name is the argument of a setter command: `aws configure set NAME`, `config set NAME`.
    private func isSetterArgument(_ name: Range<Int>, in text: ScanText) -> Bool {
        var position = name.lowerBound
        while position > 0, ASCII.isBlank(text[position - 1]) { position -= 1 }
        guard position < name.lowerBound, position >= 10, text[position - 1] == UInt8(ascii: "t"), text[position - 2] == UInt8(ascii: "e"),
              text[position - 3] == UInt8(ascii: "s"), ASCII.isBlank(text[position - 4])
        else { return false }
        let lead = max(0, position - 14)..<(position - 4)
        return text.find("config", in: lead, ignoringCase: false) != nil
    }

    enum InlineContext { case query, flag, line }

    /// Where a `name=value` inside a line is an assignment with a bare value: a URL's query in any
    /// file; a command-line flag; in configuration, Markdown shell blocks and log lines, any name
    /// after a separator; in Markdown prose, an environment variable's name (`API_KEY=…`).
    func inlineContext(_ name: Range<Int>, operatorAt position: Int, in text: ScanText) -> InlineContext? {
        let before = text.at(name.lowerBound - 1)
        let op = text.at(position)
        if op == UInt8(ascii: ":") {
            // `token: …` inside a line only in a log line (of a log, a configuration file or a document).
            guard position == name.upperBound, text.format != .code, Self.inlineLeads.contains(before), isLogLine(name, in: text) else { return nil }
            return .line
        }
        guard op == UInt8(ascii: "="), position == name.upperBound, text.at(position + 1) != UInt8(ascii: "="),
              !ASCII.isBlank(text.at(position + 1))
        else { return nil }
        if before == UInt8(ascii: "?") || before == UInt8(ascii: "&") || (before == UInt8(ascii: ";") && text.at(name.lowerBound - 2) == UInt8(ascii: "p")) {
            return .query
        }
        if before == UInt8(ascii: "-") { return .flag }
        guard Self.inlineLeads.contains(before) else { return nil }
        if text.isConfiguration(at: name.lowerBound) { return .line }
        guard text.format == .markdown else { return nil }
        return isEnvironmentName(name, in: text) || isLogLine(name, in: text) ? .line : nil
    }

    /// Bytes after which a name inside a line starts.
    static let inlineLeads = ByteSet(ranges: " \t[({,;|\"'`=:/")

    /// `API_KEY`, `DB_PASSWORD`: capitals, digits and underscores.
    private func isEnvironmentName(_ name: Range<Int>, in text: ScanText) -> Bool {
        var index = name.lowerBound
        while index < name.upperBound {
            let byte = text[index]
            guard (65...90).contains(byte) || (48...57).contains(byte) || byte == UInt8(ascii: "_") else { return false }
            index += 1
        }
        return true
    }

    /// A log or trace line: a level (`[DEBUG]`, `INFO`, `level=`) or a timestamp before the name.
    private func isLogLine(_ name: Range<Int>, in text: ScanText) -> Bool {
        let lineStart = text.lineStart(before: name.lowerBound)
        let lead = lineStart..<name.lowerBound
        guard lead.count >= 4 else { return false }
        var start = lineStart
        while ASCII.isBlank(text.at(start)) || text.at(start) == UInt8(ascii: "[") { start += 1 }
        // `2024-05-01…`, `12:01:33…`
        if (48...57).contains(text.at(start)), (48...57).contains(text.at(start + 1)),
           text.at(start + 4) == UInt8(ascii: "-") || text.at(start + 2) == UInt8(ascii: ":") {
            return true
        }
        return Self.logLevels.contains { text.contains($0, in: lead, ignoringCase: false) }
    }

    static let logLevels = ["DEBUG", "INFO", "WARN", "ERROR", "TRACE", "FATAL", "level=", "[debug]", "[info]", "[warn]", "[error]", "[trace]"]

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
            } else if byte == UInt8(ascii: " "), text.find(" default ", in: position..<min(end, position + 9), ignoringCase: false) == position {
                // Helm's and Jinja's `x | default "fallback"`.
                next = position + 9
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
    /// configuration lookup, or Terraform's `coalesce(var.x, "…")`.
    private func isLookup(_ text: ScanText, _ range: Range<Int>) -> Bool {
        ["getenv", "environ", "env", ".get(", "fetch(", "getproperty", "config(", "coalesce("].contains { text.contains($0, in: range) }
    }

    /// The default of a parameter expansion at `start`: `${NAME:-…}`, `${NAME-…}`, `${NAME:=…}`
    /// (shell, Compose) or `${NAME:…}` (Spring), up to its closing brace; nil when there is none,
    /// or when the default is itself an expansion.
    static func shellDefault(in text: ScanText, at start: Int) -> Range<Int>? {
        guard text.at(start) == UInt8(ascii: "$"), text.at(start + 1) == UInt8(ascii: "{") else { return nil }
        var cursor = start + 2
        while ASCII.isAlphanumeric(text.at(cursor)) || text.at(cursor) == UInt8(ascii: "_") || text.at(cursor) == UInt8(ascii: ".") { cursor += 1 }
        guard cursor > start + 2 else { return nil }
        if text.at(cursor) == UInt8(ascii: ":") { cursor += 1 }
        if text.at(cursor) == UInt8(ascii: "-") || text.at(cursor) == UInt8(ascii: "=") { cursor += 1 }
        guard text.at(cursor - 1) != UInt8(ascii: "{") else { return nil }
        let defaultStart = cursor
        while cursor < text.count, cursor - defaultStart < shortValueLength, text[cursor] != UInt8(ascii: "}"), text[cursor] != UInt8(ascii: "\n") {
            if text[cursor] == UInt8(ascii: "$") { return nil }
            cursor += 1
        }
        guard text.at(cursor) == UInt8(ascii: "}"), cursor > defaultStart else { return nil }
        return defaultStart..<cursor
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
            // `: String = "…"`, `: str = "…"` (in code: in configuration `key: Value=x` is a value).
            guard !text.isConfiguration(at: position) else { return position + 1 }
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
    func startsLine(_ name: Range<Int>, in text: ScanText) -> Bool {
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

    /// The literal at `start`: quoted, or bare when allowed. A bare value inside a line (`inline`)
    /// also ends at an `=` that is not its padding, so a run of `key=key=…` costs each name a few
    /// bytes, not the 1 KiB a value may have.
    func value(
        in text: ScanText, from start: Int, bareAllowed: Bool, allowQuoteEnd: Bool = false, stopAtAmpersand: Bool = false
    ) -> (Range<Int>, Bool)? {
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
            while end < text.count, end - valueStart < Self.maximumValueLength {
                let byte = text[end]
                if byte == UInt8(ascii: "\n") { return nil }
                if byte == UInt8(ascii: "\\") { end += 2; continue }
                if byte == quote { return end > valueStart ? (valueStart..<end, true) : nil }
                end += 1
            }
            return nil
        }
        guard bareAllowed else { return nil }
        // `"password": {` or `key: [` ending the line opens a block: its value is below.
        if text.at(position) == UInt8(ascii: "{") || text.at(position) == UInt8(ascii: "[") {
            let after = position + 1 + Self.blanks(after: position + 1, in: text)
            if Self.isLineEnd(text.at(after)) { return nil }
        }
        var end = position
        // Past `shortValueLength` only base64 goes on (a bare kubeconfig or service-account key):
        // a name repeated with `=` (`password=password=…`) must not read a long value per keyword.
        var base64 = true
        var segmentStart = position
        while end < text.count, end - position < Self.maximumValueLength {
            let byte = text[end]
            if byte <= 32 || ";,#\"'`)}]([".utf8.contains(byte) || (stopAtAmpersand && byte == UInt8(ascii: "&")) { break }
            // `=` is part of a password (`Ott3r=Copper272=`), unless what precedes it is a name of
            // its own (`password=…password=…`): that starts another assignment.
            if byte == UInt8(ascii: "=") {
                let segment = segmentStart..<end
                if Self.nameKeywordBytes.contains(where: { text.find($0, in: segment) != nil }) { break }
                segmentStart = end + 1
            }
            base64 = base64 && Base64Text.values[Int(byte)] != 0xFF
            if !base64, end - position >= Self.shortValueLength {
                while text.at(end) == UInt8(ascii: "=") { end += 1 }
                break
            }
            end += 1
        }
        // `os.environ["X"]`, `getenv("X")`, `value.strip()`: code, not a literal. A value inside a
        // string (`"--password=…"`, `"API_KEY=…"`) ends at its closing quote.
        let next = text.at(end)
        if next == UInt8(ascii: "(") || next == UInt8(ascii: "[") { return nil }
        if "\"'`".utf8.contains(next), !allowQuoteEnd { return nil }
        return end > position ? (position..<end, false) : nil
    }

    /// `Authorization: Bearer …` / `Basic …` (in a command, a CI file, an HTTP file or a header
    /// map): a credential whatever its format; a Basic value must decode to `user:password`.
    private func detectAuthorization(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let isBasic = text.at(keyword.lowerBound + 1) | 0x20 == UInt8(ascii: "a")
        let wordEnd = isBasic ? keyword.upperBound - 1 : keyword.upperBound
        guard text.at(wordEnd) == UInt8(ascii: " "), !ASCII.isAlphanumeric(text.at(keyword.lowerBound - 1)),
              text.contains("authorization", in: text.lineStart(before: keyword.lowerBound)..<keyword.lowerBound)
        else { return }
        let start = wordEnd + 1
        var end = start
        while end < text.count, end - start < 8192, ByteSet.base64URL.contains(text[end]) || "+/=.~".utf8.contains(text[end]) { end += 1 }
        guard end > start, !ASCII.isAlphanumeric(text.at(end)) else { return }
        let value = text.string(start..<end)
        // A JWT or a checksummed token is reported by its own rule.
        guard !Self.checksummedPrefixes.contains(where: value.hasPrefix) else { return }
        if isBasic {
            guard let decoded = Base64Text.decode(Array(value.utf8)[...]), Base64Text.isText(decoded),
                  let colon = decoded.firstIndex(of: UInt8(ascii: ":")), colon > 0
            else { return }
            let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
            guard password.utf8.count >= 6, !ValueJudgement.isKnownExampleOrPlaceholder(password),
                  !ValueJudgement.stopWords.contains(password.lowercased()), !ValueJudgement.isReference(password, quoted: true),
                  ValueJudgement.isPlausiblePassword(password, quoted: true) || ValueJudgement.isPlausibleSecret(password, quoted: true)
                    || DecodedText.strongestRule(in: Array(password.utf8)) != nil
            else { return }
        } else {
            guard ValueJudgement.isPlausibleSecret(value) else { return }
        }
        detections.append(Detection(rule: BuiltinRules.httpAuthorizationHeader, secret: start..<end, match: keyword.lowerBound..<end))
    }

    /// Vendors' keys recognised by their name and shape.
    static func vendorRule(words: [String], value: String) -> Rule? {
        let base64 = value.utf8.allSatisfy { ByteSet.base64.contains($0) || $0 == UInt8(ascii: "=") }
        // Runs of one character are normal here (session tokens hold `//////////`).
        guard base64, !ValueJudgement.knownExamples.contains(value), !value.lowercased().contains("example"),
              !ValueJudgement.isSequence(value)
        else { return nil }
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
