import Crypto
import Foundation
import SigilCore

/// The commit a finding in history came from.
public struct CommitInfo: Sendable, Equatable, Hashable {
    public let id: String
    public let author: String
    public let email: String
    public let date: String

    public init(id: String, author: String, email: String, date: String) {
        self.id = id
        self.author = author
        self.email = email
        self.date = date
    }
}

/// What is known about whether a found credential still works. Other providers' credentials are
/// never tried online; Sigil's own are `revoked` once the server has disabled them.
public enum Validity: String, Sendable, Codable {
    case unknown
    case revoked
    /// A Sigil secret the server does not know (another deployment's, or already deleted).
    case notRegistered = "not-registered"
}

/// One credential found at one place.
public struct Finding: Sendable {
    public let rule: Rule
    public let file: String
    public let line: Int
    /// 1-based, in Unicode code points.
    public let column: Int
    public let commit: CommitInfo?
    /// Stable across line moves: derived from the rule, the file and the secret.
    public let fingerprint: String
    public let redacted: String
    public var validity: Validity = .unknown
    /// The credential itself. Kept in memory for the leak report's hash; never printed.
    let secret: String

    public init(rule: Rule, file: String, line: Int, column: Int, commit: CommitInfo?, secret: String) {
        self.rule = rule
        self.file = file
        self.line = line
        self.column = column
        self.commit = commit
        self.secret = secret
        self.fingerprint = Self.fingerprint(rule: rule.id, file: file, secret: secret)
        self.redacted = Self.redact(secret)
    }

    /// SHA-256 of the secret, hex: what the leak report sends for Sigil secrets.
    public var secretSHA256: String {
        SHA256.hash(data: Data(secret.utf8)).lowerHex
    }

    public var isSigilSecret: Bool { rule.id == "sigil-client-secret" || rule.id == "sigil-join-token" }

    /// 128 bits of SHA-256 over rule, path and secret. The secret is inside the hash so a
    /// baseline entry stops matching when the value changes; the line is not, so it survives
    /// edits above it.
    static func fingerprint(rule: String, file: String, secret: String) -> String {
        var hasher = SHA256()
        for part in [rule, file, secret] {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return hasher.finalize().prefix(16).lowerHex
    }

    /// At most the first four characters (fewer for short values), then asterisks; for a key
    /// block, only its header (`-----BEGIN RSA PRIVATE KEY-----`, `PuTTY-User-Key-File-3`), which
    /// is not secret, whatever the line endings or spacing of the body after it.
    static func redact(_ secret: String) -> String {
        let bytes = Array(secret.utf8)
        if secret.hasPrefix("-----BEGIN ") {
            var end = 11
            while end + 5 <= bytes.count, end < 60, !bytes[end..<(end + 5)].elementsEqual("-----".utf8) { end += 1 }
            return end + 5 <= bytes.count && end < 60 ? String(decoding: bytes[0..<(end + 5)], as: UTF8.self) + " …" : "-----BEGIN …"
        }
        if secret.hasPrefix("PuTTY-User-Key-File-") {
            return String(decoding: bytes.prefix(21), as: UTF8.self) + " …"
        }
        let visible = min(4, secret.count / 5)
        return String(secret.prefix(visible)) + "*****"
    }
}
