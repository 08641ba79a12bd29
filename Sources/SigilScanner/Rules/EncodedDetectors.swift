import Foundation

/// Base64 as configuration holds it: the standard or the URL alphabet, padded or not.
enum Base64Text {
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// The most base64 decoded at once: a value longer than this is not decoded.
    static let limit = 256 * 1024

    /// Whether every byte is a base64 character, with at most two `=` at the end.
    static func isBase64(_ bytes: ArraySlice<UInt8>) -> Bool {
        var padding = 0
        for byte in bytes {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0, values[Int(byte)] != 0xFF else { return false }
        }
        return padding <= 2 && bytes.count > padding
    }

    /// The decoded bytes, or nil for another character, an impossible length or a value over `limit`.
    static func decode(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        guard bytes.count <= limit else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var count = 0
        var padding = 0
        for byte in bytes {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            let value = values[Int(byte)]
            guard padding == 0, value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            count += 1
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        guard count % 4 != 1, padding <= 2, !output.isEmpty else { return nil }
        return output
    }

    /// Whether decoded bytes are text: valid UTF-8 without control characters other than tabs
    /// and line breaks.
    static func isText(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return false }
        for byte in bytes where (byte < 32 && byte != 9 && byte != 10 && byte != 13) || byte == 127 { return false }
        return String(bytes: bytes, encoding: .utf8) != nil
    }
}

/// What a decoded value holds, judged by every built-in rule.
enum DecodedText {
    /// The built-in detectors, without the one that decodes whole Kubernetes Secrets (decoded
    /// text does not hold another Secret's manifest worth reading).
    static let engine = ScanEngine(detectors: BuiltinRules.detectors.filter { !($0 is KubernetesSecretDetector) })

    /// The rule of the strongest finding in `decoded`, if any.
    static func strongestRule(in decoded: [UInt8]) -> Rule? {
        let detections = decoded.withUnsafeBufferPointer { engine.detections(in: $0, format: .configuration) }
        return detections.max { $0.rule.precedence < $1.rule.precedence }?.rule
    }
}

/// A base64-encoded PEM private key anywhere (`LS0tLS1CRUdJTi` is `-----BEGIN`): kubeconfig
/// `client-key-data`, a Secret's `tls.key`, a Helm value. The finding is on the encoded text.
public struct EncodedKeyDetector: Detector {
    public var keywords: [Keyword] { [Keyword("LS0tLS1CRUdJTi")] }

    static let keyRules: Set<String> = ["private-key", "openssh-private-key", "pgp-private-key", "putty-private-key"]

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        // Only a value that starts here decodes to `-----BEGIN`.
        guard Base64Text.values[Int(text.at(keyword.lowerBound - 1))] == 0xFF else { return }
        let start = keyword.lowerBound
        var end = start
        var encoded: [UInt8] = []
        // One line, or base64 wrapped over several (`base64` without `-w0`, in a block scalar).
        while end < text.count, end - start < Base64Text.limit {
            let lineStart = end
            while end < text.count, end - start < Base64Text.limit, Base64Text.values[Int(text[end])] != 0xFF { end += 1 }
            while end < text.count, text[end] == UInt8(ascii: "="), end - start < Base64Text.limit { end += 1 }
            encoded += text.bytes[lineStart..<end]
            // A wrapped line is 60 or more characters and ends the line; the next one goes on.
            var next = end
            if text.at(next) == UInt8(ascii: "\r") { next += 1 }
            guard end - lineStart >= 60, text.at(next) == UInt8(ascii: "\n"), text.at(end - 1) != UInt8(ascii: "=") else { break }
            next += 1
            while ASCII.isBlank(text.at(next)) { next += 1 }
            // The next line must be base64 from its indentation to its end (not `tls.crt: …`).
            var probe = next
            while probe < text.count, probe - next < 256, Base64Text.values[Int(text[probe])] != 0xFF || text[probe] == UInt8(ascii: "=") { probe += 1 }
            guard probe > next, probe == text.count || text[probe] == UInt8(ascii: "\n") || text[probe] == UInt8(ascii: "\r") else { break }
            end = next
        }
        guard let decoded = Base64Text.decode(encoded[...]),
              let rule = DecodedText.strongestRule(in: decoded), Self.keyRules.contains(rule.id)
        else { return }
        detections.append(Detection(rule: rule, secret: start..<end))
    }
}

extension Slice where Base == UnsafeBufferPointer<UInt8> {
    var asArraySlice: ArraySlice<UInt8> { ArraySlice(self) }
}

/// Docker's `config.json`: `"auth": "<base64 of user:password>"`.
public struct DockerAuthDetector: Detector {
    public var keywords: [Keyword] { [Keyword("\"auth\"")] }

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        var position = keyword.upperBound
        while ASCII.isBlank(text.at(position)) { position += 1 }
        guard text.at(position) == UInt8(ascii: ":") else { return }
        position += 1
        while ASCII.isBlank(text.at(position)) { position += 1 }
        guard text.at(position) == UInt8(ascii: "\"") else { return }
        let start = position + 1
        var end = start
        while end < text.count, end - start < 64 * 1024, text[end] != UInt8(ascii: "\""), text[end] != UInt8(ascii: "\n") { end += 1 }
        guard text.at(end) == UInt8(ascii: "\""), end - start >= 8 else { return }
        let encoded = text.bytes[start..<end].asArraySlice
        guard Base64Text.isBase64(encoded), let decoded = Base64Text.decode(encoded), Base64Text.isText(decoded),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return }
        var password = Array(decoded[(colon + 1)...])
        while let last = password.last, last == 10 || last == 13 { password.removeLast() }
        guard Self.isPassword(password) else { return }
        detections.append(Detection(rule: BuiltinRules.dockerRegistryAuth, secret: start..<end))
    }

    /// Whether the password part of a registry login is a credential: a token of any rule, or a
    /// plausible password or secret.
    static func isPassword(_ bytes: [UInt8]) -> Bool {
        let password = String(decoding: bytes, as: UTF8.self)
        guard password.utf8.count >= 6, !ValueJudgement.isKnownExampleOrPlaceholder(password),
              !ValueJudgement.stopWords.contains(password.lowercased()), !ValueJudgement.isReference(password, quoted: true)
        else { return false }
        return ValueJudgement.isPlausiblePassword(password, quoted: true) || ValueJudgement.isPlausibleSecret(password, quoted: true)
            || DecodedText.strongestRule(in: bytes) != nil
    }
}

/// A Kubernetes `Secret`'s `data:` (YAML or JSON): every value is base64, decoded and judged.
/// A decoded credential of any rule is reported with that rule on the encoded line; a plain
/// value under a credential's key (`password: <base64>`, `AWS_SECRET_ACCESS_KEY: <base64>`) is
/// judged as that key's value would be; anything else is not a secret, and hides what other rules
/// saw in the encoded text.
public struct KubernetesSecretDetector: Detector {
    public var keywords: [Keyword] { [Keyword("kind: Secret"), Keyword("\"kind\": \"Secret\""), Keyword("kind: \"Secret\""), Keyword("\"kind\":\"Secret\"")] }

    /// How far from `kind: Secret` its manifest's `data:` is looked for.
    static let documentWindow = 256 * 1024

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        guard !ASCII.isAlphanumeric(text.at(keyword.upperBound)) else { return }
        let isJSON = text[keyword.lowerBound] == UInt8(ascii: "\"")
        let document = Self.document(around: keyword, in: text, isJSON: isJSON)
        var entries: [(key: Range<Int>, value: Range<Int>)] = []
        if isJSON {
            entries = Self.jsonData(in: document, text: text)
        } else {
            let lineStart = text.lineStart(before: keyword.lowerBound)
            entries = Self.yamlData(in: document, column: keyword.lowerBound - lineStart, text: text)
        }
        for entry in entries {
            if let detection = Self.judge(key: text.string(entry.key), value: entry.value, in: text) { detections.append(detection) }
        }
    }

    /// The YAML document (between `---` lines) or the JSON text around the keyword, bounded.
    static func document(around keyword: Range<Int>, in text: ScanText, isJSON: Bool) -> Range<Int> {
        let floor = max(0, keyword.lowerBound - documentWindow)
        let ceiling = min(text.count, keyword.upperBound + documentWindow)
        if isJSON { return floor..<ceiling }
        let isSeparator = { (lineStart: Int) in
            text.find("---", in: lineStart..<min(lineStart + 3, text.count), ignoringCase: false) == lineStart
        }
        var start = keyword.lowerBound
        while start > floor, text[start - 1] != UInt8(ascii: "\n") { start -= 1 }
        while start > floor {
            var previous = start - 1
            while previous > floor, text[previous - 1] != UInt8(ascii: "\n") { previous -= 1 }
            if isSeparator(previous) { break }
            start = previous
        }
        var end = keyword.upperBound
        while end < ceiling {
            end = lineEnd(after: end, before: ceiling, in: text)
            guard end < ceiling else { break }
            end += 1
            if isSeparator(end) { break }
        }
        return start..<min(end, ceiling)
    }

    /// The `key: value` lines under a `data:` key at `column` (the column of `kind:`).
    static func yamlData(in document: Range<Int>, column kindColumn: Int, text: ScanText) -> [(key: Range<Int>, value: Range<Int>)] {
        var entries: [(key: Range<Int>, value: Range<Int>)] = []
        var start = document.lowerBound
        var dataColumn: Int?
        while start < document.upperBound {
            let end = lineEnd(after: start, before: document.upperBound, in: text)
            defer { start = end + 1 }
            let indent = AssignmentDetector.indentation(at: start, in: text)
            var content = start + indent
            if content >= end || text[content] == UInt8(ascii: "#") || text[content] == UInt8(ascii: "\r") { continue }
            if let column = dataColumn {
                if indent > column {
                    if let found = Self.entry(at: content, end: end, in: text) { entries.append(found) }
                    continue
                }
                dataColumn = nil
            }
            // `- data:` in a list of manifests: the dash is indentation.
            var column = indent
            if text[content] == UInt8(ascii: "-"), ASCII.isBlank(text.at(content + 1)) {
                content += 2
                column += 2
            }
            guard column == kindColumn, text.find("data:", in: content..<min(end, content + 5), ignoringCase: false) == content else { continue }
            var after = content + 5
            while after < end, ASCII.isBlank(text[after]) || text[after] == UInt8(ascii: "\r") { after += 1 }
            if after == end { dataColumn = column }
        }
        return entries
    }

    /// `key: value` (the value optionally quoted) at `start`: the key and the base64 value.
    static func entry(at start: Int, end: Int, in text: ScanText) -> (key: Range<Int>, value: Range<Int>)? {
        guard let (key, found) = AssignmentDetector.key(at: start, in: text) else { return nil }
        var valueStart = found
        let quote = text.at(valueStart)
        if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") { valueStart += 1 }
        var valueEnd = valueStart
        while valueEnd < end, Base64Text.values[Int(text[valueEnd])] != 0xFF { valueEnd += 1 }
        while valueEnd < end, text[valueEnd] == UInt8(ascii: "=") { valueEnd += 1 }
        let after = text.at(valueEnd)
        guard valueEnd > valueStart, valueEnd == end || after == quote || ASCII.isBlank(after) || after == UInt8(ascii: "\r")
            || after == UInt8(ascii: ",")
        else { return nil }
        return (key, valueStart..<valueEnd)
    }

    /// `"data": { "key": "value", … }` in a JSON manifest.
    static func jsonData(in document: Range<Int>, text: ScanText) -> [(key: Range<Int>, value: Range<Int>)] {
        guard let field = text.find("\"data\"", in: document, ignoringCase: false) else { return [] }
        var cursor = field + 6
        while cursor < document.upperBound, ASCII.isBlank(text[cursor]) || text[cursor] == UInt8(ascii: ":") { cursor += 1 }
        guard text.at(cursor) == UInt8(ascii: "{") else { return [] }
        cursor += 1
        var entries: [(key: Range<Int>, value: Range<Int>)] = []
        while cursor < document.upperBound {
            while cursor < document.upperBound, text[cursor] <= 32 || text[cursor] == UInt8(ascii: ",") { cursor += 1 }
            guard text.at(cursor) == UInt8(ascii: "\""), let (key, valueStart) = AssignmentDetector.key(at: cursor, in: text),
                  text.at(valueStart) == UInt8(ascii: "\"")
            else { break }
            var valueEnd = valueStart + 1
            while valueEnd < document.upperBound, Base64Text.values[Int(text[valueEnd])] != 0xFF || text[valueEnd] == UInt8(ascii: "=") { valueEnd += 1 }
            guard text.at(valueEnd) == UInt8(ascii: "\"") else { break }
            entries.append((key, (valueStart + 1)..<valueEnd))
            cursor = valueEnd + 1
        }
        return entries
    }

    /// The end of the line at `start`, at most `limit` (a value may be a line of megabytes).
    static func lineEnd(after start: Int, before limit: Int, in text: ScanText) -> Int {
        var end = start
        while end < limit, text[end] != UInt8(ascii: "\n") { end += 1 }
        return end
    }

    /// A finding for one entry: the rule of what it decodes to, the generic rule of its key, or
    /// the "not a secret" mark.
    static func judge(key: String, value: Range<Int>, in text: ScanText) -> Detection? {
        let encoded = text.bytes[value].asArraySlice
        guard encoded.count >= 4, let decoded = Base64Text.decode(encoded) else { return nil }
        if let rule = DecodedText.strongestRule(in: decoded) { return Detection(rule: rule, secret: value) }
        let words = AssignmentDetector.words(of: key)
        if let kind = AssignmentDetector.kind(of: words), Base64Text.isText(decoded) {
            let plain = String(decoding: decoded, as: UTF8.self).trimmingBlanks.trimmingLineBreaks
            // `AWS_SECRET_ACCESS_KEY: <base64>`: a vendor's key known by its name and shape.
            if let rule = AssignmentDetector.vendorRule(words: words, value: plain) { return Detection(rule: rule, secret: value) }
            let plausible = kind == .password
                ? ValueJudgement.isPlausiblePassword(plain, quoted: true) : ValueJudgement.isPlausibleSecret(plain, quoted: true)
            if plausible { return Detection(rule: kind == .password ? BuiltinRules.genericPassword : BuiltinRules.genericSecret, secret: value) }
        }
        return Detection(rule: BuiltinRules.notASecret, secret: value)
    }
}

extension String {
    /// Without trailing line breaks.
    var trimmingLineBreaks: String {
        var view = Substring(self)
        while let last = view.unicodeScalars.last, last == "\n" || last == "\r" { view = Substring(view.unicodeScalars.dropLast()) }
        return String(view)
    }
}
