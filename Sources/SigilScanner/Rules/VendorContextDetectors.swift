/// An AWS presigned URL: `X-Amz-Signature=<64 hex>` with `X-Amz-Credential=` in the same URL.
/// The finding is the signature, which grants access until the URL expires; the access key id in
/// the credential is reported by its own rule beside it, since deactivating that key is how a
/// leaked presigned URL is revoked.
public struct PresignedURLDetector: Detector {
    public var keywords: [Keyword] { [Keyword("x-amz-signature=", caseSensitive: false)] }

    /// Bytes a URL is made of (no blanks, quotes or angle brackets).
    static let urlBytes = ByteSet(ranges: "0-9A-Za-z._~:/?#[]@!$&()*+,;=%-")

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let signatureStart = keyword.upperBound
        var signatureEnd = signatureStart
        while signatureEnd < text.count, signatureEnd - signatureStart < 64, ByteSet.hex.contains(text[signatureEnd]) { signatureEnd += 1 }
        guard signatureEnd - signatureStart == 64, !ASCII.isAlphanumeric(text.at(signatureEnd)) else { return }
        var urlStart = keyword.lowerBound
        let floor = max(0, keyword.lowerBound - 4096)
        while urlStart > floor, Self.urlBytes.contains(text[urlStart - 1]) { urlStart -= 1 }
        var urlEnd = signatureEnd
        let ceiling = min(text.count, signatureEnd + 4096)
        while urlEnd < ceiling, Self.urlBytes.contains(text[urlEnd]) { urlEnd += 1 }
        let url = urlStart..<urlEnd
        guard let credential = text.find("x-amz-credential=", in: url, ignoringCase: true) else { return }
        var credentialEnd = credential + 17
        while credentialEnd < urlEnd, text[credentialEnd] != UInt8(ascii: "&") { credentialEnd += 1 }
        let signature = text.string(signatureStart..<signatureEnd)
        guard !ValueJudgement.isKnownExampleOrPlaceholder(signature),
              !ValueJudgement.isKnownExampleOrPlaceholder(text.string((credential + 17)..<credentialEnd))
        else { return }
        detections.append(Detection(rule: BuiltinRules.awsPresignedURL, secret: signatureStart..<signatureEnd, match: urlStart..<max(signatureEnd, credentialEnd)))
    }
}

/// Sidekiq Pro / Enterprise licence credentials, `8 hex:8 hex`, for gems.contribsys.com or
/// enterprise.contribsys.com: in Bundler's environment variable (`BUNDLE_GEMS__CONTRIBSYS__COM`),
/// in `bundle config gems.contribsys.com user:pass`, or in a source URL `https://user:pass@…`.
public struct SidekiqCredentialDetector: Detector {
    /// The tail of `contribsys.com` / `CONTRIBSYS__COM` (`co` would stop at every `const`).
    public var keywords: [Keyword] { [Keyword("bsys.com"), Keyword("BSYS__COM")] }

    static let credential = TokenPattern("[0-9a-fA-F]{8}:[0-9a-fA-F]{8}")

    public init() {}

    public func detect(in text: ScanText, at tail: Range<Int>, into detections: inout [Detection]) {
        let keyword = (tail.lowerBound - 6)..<tail.upperBound
        guard keyword.lowerBound >= 0, text.find("contri", in: keyword.lowerBound..<(keyword.lowerBound + 6), ignoringCase: true) == keyword.lowerBound
        else { return }
        // `https://user:pass@gems.contribsys.com`
        var hostStart = keyword.lowerBound
        while hostStart > 0, ASCII.isAlphanumeric(text[hostStart - 1]) || text[hostStart - 1] == UInt8(ascii: ".") || text[hostStart - 1] == UInt8(ascii: "_") {
            hostStart -= 1
        }
        let host = text.string(hostStart..<keyword.lowerBound).lowercased()
        guard host.hasSuffix("gems.") || host.hasSuffix("enterprise.") || host.hasSuffix("gems__") || host.hasSuffix("enterprise__") else { return }
        if text.at(hostStart - 1) == UInt8(ascii: "@") {
            guard let start = Self.credential.matchBackward(text.bytes, endingAt: hostStart - 1),
                  !ASCII.isAlphanumeric(text.at(start - 1))
            else { return }
            report(start..<(hostStart - 1), in: text, into: &detections)
            return
        }
        // `BUNDLE_GEMS__CONTRIBSYS__COM=user:pass`, `…: "user:pass"`, `bundle config gems.contribsys.com user:pass`.
        var position = keyword.upperBound
        var steps = 0
        while steps < 8, ASCII.isBlank(text.at(position)) || "=:\"'".utf8.contains(text.at(position)) {
            position += 1
            steps += 1
        }
        guard position > keyword.upperBound, let end = Self.credential.matchForward(text.bytes, from: position),
              !ASCII.isAlphanumeric(text.at(end))
        else { return }
        report(position..<end, in: text, into: &detections)
    }

    private func report(_ range: Range<Int>, in text: ScanText, into detections: inout [Detection]) {
        guard !ValueJudgement.isKnownExampleOrPlaceholder(text.string(range).replacingColon) else { return }
        detections.append(Detection(rule: BuiltinRules.sidekiqCredential, secret: range))
    }
}

extension String {
    /// The text without its `:` (so `12345678:9abcdef0` is judged as one run).
    var replacingColon: String { String(self.filter { $0 != ":" }) }
}
