/// PEM private-key blocks (`-----BEGIN … PRIVATE KEY-----`), also when embedded in a string with
/// `\n` escapes. A block is reported when its body has real base64 content; public keys and
/// certificates have other labels and never match.
public struct PrivateKeyDetector: Detector {
    public var keywords: [Keyword] { [Keyword("-----BEGIN ")] }

    /// The smallest body that can be a key (an Ed25519 PKCS#8 key is 64 base64 characters).
    static let minimumBody = 60

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        var labelEnd = keyword.upperBound
        while labelEnd < text.count, labelEnd - keyword.upperBound < 40, text[labelEnd] != UInt8(ascii: "-"), text[labelEnd] != UInt8(ascii: "\n") {
            labelEnd += 1
        }
        guard text.find("-----", in: labelEnd..<min(labelEnd + 5, text.count), ignoringCase: false) == labelEnd else { return }
        let label = text.string(keyword.upperBound..<labelEnd)
        let rule: Rule
        switch label {
        case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
            rule = BuiltinRules.privateKey
        case "OPENSSH PRIVATE KEY":
            rule = BuiltinRules.opensshPrivateKey
        case "PGP PRIVATE KEY BLOCK":
            rule = BuiltinRules.pgpPrivateKey
        default:
            return
        }
        let bodyStart = labelEnd + 5
        let body = Self.body(in: text, from: bodyStart)
        guard body.base64 >= Self.minimumBody else { return }
        var blockEnd = body.end
        if text.find("-----END ", in: body.end..<min(text.count, body.end + 9), ignoringCase: false) == body.end,
           let close = text.find("-----", in: (body.end + 9)..<min(text.count, body.end + 60), ignoringCase: false) {
            blockEnd = close + 5
        }
        detections.append(Detection(rule: rule, secret: keyword.lowerBound..<blockEnd))
    }

    /// Bytes a key body is made of: base64, line breaks (also escaped as `\n` inside a string),
    /// and the `Proc-Type:` / `DEK-Info:` headers of an encrypted key.
    static let bodyBytes = ByteSet(ranges: "0-9A-Za-z+/= \t\r\n:,\\-")

    /// Where a key body ends (at `-----END`, or where something that is not a key body starts,
    /// for a block that was cut off) and how many base64 characters it has.
    static func body(in text: ScanText, from start: Int) -> (end: Int, base64: Int) {
        let ceiling = min(text.count, start + 64 * 1024)
        var index = start
        var count = 0
        while index < ceiling {
            let byte = text[index]
            if byte == UInt8(ascii: "-"), text.find("-----", in: index..<min(text.count, index + 5), ignoringCase: false) == index {
                break
            }
            if byte == UInt8(ascii: "\\") {
                let next = text.at(index + 1)
                guard next == UInt8(ascii: "n") || next == UInt8(ascii: "r") else { break }
                index += 2
                continue
            }
            guard bodyBytes.contains(byte) else { break }
            if ByteSet.base64.contains(byte) { count += 1 }
            index += 1
        }
        return (index, count)
    }

    /// Base64 characters in the body, not counting `\n` escapes or header lines (`Proc-Type:`).
    static func base64Count(_ text: ScanText, _ range: Range<Int>) -> Int {
        var count = 0
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = text[index]
            if byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if ByteSet.base64.contains(byte) { count += 1 }
            index += 1
        }
        return count
    }
}

/// PuTTY's `.ppk` key files: a `PuTTY-User-Key-File-2:` or `-3:` header with `Private-Lines:`.
public struct PuTTYKeyDetector: Detector {
    public var keywords: [Keyword] { [Keyword("PuTTY-User-Key-File-")] }

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let version = text.at(keyword.upperBound)
        guard version == UInt8(ascii: "2") || version == UInt8(ascii: "3"), text.at(keyword.upperBound + 1) == UInt8(ascii: ":"),
              let privateLines = text.find("Private-Lines:", in: keyword.upperBound..<min(text.count, keyword.upperBound + 16 * 1024), ignoringCase: false)
        else { return }
        let body = text.lineEnd(after: privateLines)
        var end = body
        // The private lines themselves follow; the block ends at `Private-MAC:` when present.
        if let mac = text.find("Private-MAC:", in: body..<min(text.count, body + 16 * 1024), ignoringCase: false) {
            end = text.lineEnd(after: mac)
        }
        guard PrivateKeyDetector.base64Count(text, body..<end) >= PrivateKeyDetector.minimumBody else { return }
        detections.append(Detection(rule: BuiltinRules.puttyPrivateKey, secret: keyword.lowerBound..<end))
    }
}

/// Google Cloud service-account key files: a JSON object with `"type": "service_account"` and a
/// `"private_key"`. The finding is the private key's value, so the PEM rule's finding for the same
/// bytes gives way to this more specific one.
public struct ServiceAccountKeyDetector: Detector {
    public var keywords: [Keyword] { [Keyword("\"service_account\"")] }

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let window = max(0, keyword.lowerBound - 8 * 1024)..<min(text.count, keyword.upperBound + 8 * 1024)
        guard let field = text.find("\"private_key\"", in: window, ignoringCase: false) else { return }
        var position = field + 13
        while ASCII.isBlank(text.at(position)) || text.at(position) == UInt8(ascii: ":") { position += 1 }
        guard text.at(position) == UInt8(ascii: "\"") else { return }
        let start = position + 1
        var end = start
        while end < text.count, text[end] != UInt8(ascii: "\""), text[end] != UInt8(ascii: "\n") {
            end += text[end] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard end < text.count, text.contains("private key-----", in: start..<end),
              PrivateKeyDetector.base64Count(text, start..<end) >= PrivateKeyDetector.minimumBody
        else { return }
        detections.append(Detection(rule: BuiltinRules.gcpServiceAccountKey, secret: start..<end))
    }
}
