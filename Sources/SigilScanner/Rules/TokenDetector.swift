import SigilCore

/// A credential with a fixed shape: an optional part before a literal keyword, the keyword, and a
/// part after it, each a `TokenPattern`. The match must stand alone: the byte before it and the
/// byte after it are not letters or digits.
public struct TokenDetector: Detector {
    /// What a format's own structure can prove beyond its shape.
    public enum Check: Sendable {
        case none
        /// GitHub and npm: the last 6 characters are the base-62 CRC32 of the characters between
        /// the prefix and them.
        case base62CRC32(prefixLength: Int)
        /// Sigil's own `sgs_` / `sgj_` secrets.
        case sigilSecret
        /// A JWT: the header decodes to a JSON object with `alg`.
        case jwtHeader
        /// Slack's legacy tokens: dash-separated segments with a digit, none empty.
        case slackLegacy
        /// After `prefix`, base64 (up to the last `_` when `secretAfterUnderscore`, else the end)
        /// that decodes to a JSON object with every one of `keys` and no filler text in it. A token
        /// without the prefix passes.
        case embeddedJSON(prefix: String, keys: [String], secretAfterUnderscore: Bool = false)
    }

    public let rule: Rule
    let keyword: Keyword
    let before: TokenPattern?
    let after: TokenPattern
    let check: Check
    /// Whether the trailing boundary is enforced (off for formats that end in a class of their own).
    let boundedEnd: Bool

    public init(
        _ rule: Rule, before: String? = nil, keyword: String, after: String, check: Check = .none,
        boundedEnd: Bool = true
    ) {
        self.rule = rule
        self.keyword = Keyword(keyword)
        self.before = before.map(TokenPattern.init)
        self.after = TokenPattern(after)
        self.check = check
        self.boundedEnd = boundedEnd
    }

    public var keywords: [Keyword] { [keyword] }

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        var start = keyword.lowerBound
        if let before {
            guard let found = before.matchBackward(text.bytes, endingAt: start) else { return }
            start = found
        }
        guard !ASCII.isAlphanumeric(text.at(start - 1)) else { return }
        guard let end = after.matchForward(text.bytes, from: keyword.upperBound) else { return }
        if boundedEnd, ASCII.isAlphanumeric(text.at(end)) { return }
        let range = start..<end
        guard passes(text, range) else { return }
        if check.isChecksum == false {
            // A made-up stem (`xyz`, `abc123`) marks a short token as an example; long structured
            // ones are judged by their fillers only.
            let value = text.string(range)
            if range.count <= 100 ? ValueJudgement.isExampleToken(value) : ValueJudgement.isKnownExampleOrPlaceholder(value) { return }
        }
        detections.append(Detection(rule: rule, secret: range))
    }

    private func passes(_ text: ScanText, _ range: Range<Int>) -> Bool {
        switch check {
        case .none:
            return true
        case .base62CRC32(let prefixLength):
            let body = UnsafeBufferPointer(rebasing: text.bytes[(range.lowerBound + prefixLength)..<(range.upperBound - 6)])
            let expected = SigilSecretFormat.checksum(of: body)
            return Array(expected.utf8).elementsEqual(text.bytes[(range.upperBound - 6)..<range.upperBound])
        case .sigilSecret:
            if case .success = SigilSecretFormat.validate(text.string(range)) { return true }
            return false
        case .jwtHeader:
            return JWTShape.isPlausible(text.string(range))
        case .slackLegacy:
            let token = Array(text.bytes[range])
            let body = token.dropFirst(5)
            guard body.count >= 10, body.last != UInt8(ascii: "-"), body.first != UInt8(ascii: "-"),
                  body.contains(where: { (48...57).contains($0) })
            else { return false }
            return !zip(body, body.dropFirst()).contains { $0 == UInt8(ascii: "-") && $1 == UInt8(ascii: "-") }
        case .embeddedJSON(let prefix, let keys, let secretAfterUnderscore):
            let token = Array(text.bytes[range])
            guard token.starts(with: prefix.utf8) else { return true }
            var body = token.dropFirst(prefix.utf8.count)
            if secretAfterUnderscore, let underscore = body.lastIndex(of: UInt8(ascii: "_")) { body = body[..<underscore] }
            guard let decoded = Base64Text.decode(body), let object = try? JSONParser.parseObject(decoded) else { return false }
            // Every field the format writes is there, and no text in it is a filler: a
            // documentation sample (`"k":"abcdefgh…"`) or a look-alike (`{"note":…}`) is not a token.
            return keys.allSatisfy { object[$0] != nil } && !Self.holdsFiller(.object(object))
        }
    }
}

extension TokenDetector {
    /// Whether a string anywhere in the JSON value is a filler run (`0123456789…`, `abcdef…`, `aaaaaa`).
    static func holdsFiller(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let string): ValueJudgement.isSequence(string) || ValueJudgement.hasLongRun(string)
        case .array(let items): items.contains(where: holdsFiller)
        case .object(let fields): fields.values.contains(where: holdsFiller)
        case .null, .bool, .number: false
        }
    }
}

extension TokenDetector.Check {
    var isChecksum: Bool {
        switch self {
        case .base62CRC32, .sigilSecret: true
        case .none, .jwtHeader, .slackLegacy, .embeddedJSON: false
        }
    }
}

/// Whether a `header.payload.signature` string is a JWT rather than three base64url words.
enum JWTShape {
    static func isPlausible(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].utf8.count >= 16,
              let header = Base64URL.decode(String(parts[0])),
              case .object(let fields)? = try? JSONParser.parse(header), fields["alg"] != nil,
              let payload = Base64URL.decode(String(parts[1])),
              case .object? = try? JSONParser.parse(payload)
        else { return false }
        return true
    }
}
