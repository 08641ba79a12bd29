import Foundation

/// The rules of a leak report (DESIGN §7): the scanner sends `SHA-256(secret)` of each Sigil
/// secret it found, never the secret, and the server matches it against the salted hashes it keeps.
public enum LeakReport {
    public static let maximumHashes = 1000
    public static let maximumSourceLength = 256

    /// What a report did to one reported hash.
    public enum Status: String, Sendable {
        /// The secret was live: it is revoked now, with a `leakedCredentials` detection on its app.
        case revoked
        /// The secret had been revoked before (an earlier report).
        case alreadyRevoked
        /// No secret of this tenant has this hash (never issued here, or since removed).
        case notFound
    }

    /// Parses `sha256[index]`: exactly 64 lowercase hex characters. Messages never repeat the
    /// value, which may be a secret pasted by mistake.
    public static func parseSHA256(_ text: String, index: Int) throws(DirectoryRuleViolation) -> Data {
        let field = "sha256"
        let name = "sha256[\(index)]"
        if case .success = SigilSecretFormat.validate(text) {
            throw DirectoryRuleViolation(field: field, message: "\(name) is a Sigil secret itself; send only its SHA-256 (64 lowercase hex characters), never the secret")
        }
        let bytes = Array(text.utf8)
        guard bytes.count == 64 else {
            throw DirectoryRuleViolation(field: field, message: "\(name) is \(text.count) characters; each entry must be exactly 64 lowercase hex characters, the SHA-256 of the secret's UTF-8 bytes")
        }
        if bytes.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }) {
            throw DirectoryRuleViolation(field: field, message: "\(name) has uppercase letters; write the SHA-256 in lowercase hex")
        }
        var data = Data(capacity: 32)
        for pair in stride(from: 0, to: 64, by: 2) {
            guard let high = bytes[pair].hexDigitValue, let low = bytes[pair + 1].hexDigitValue else {
                throw DirectoryRuleViolation(field: field, message: "\(name) must hold only 0-9 and a-f (lowercase hex of the SHA-256)")
            }
            data.append(high << 4 | low)
        }
        return data
    }

    /// The reporter's description of where the secrets were found: 1–256 characters, no control characters.
    public static func checkSource(_ source: String) throws(DirectoryRuleViolation) {
        guard !source.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DirectoryRuleViolation(field: "source", message: "source must not be empty; say where the secrets were found")
        }
        guard source.count <= maximumSourceLength else {
            throw DirectoryRuleViolation(field: "source", message: "source is \(source.count) characters; at most \(maximumSourceLength) are allowed")
        }
        guard !source.containsControlCharacters else {
            throw DirectoryRuleViolation(field: "source", message: "source must not contain control characters")
        }
    }

    /// The index in `hashes` of the stored hash that `reported` (a secret's SHA-256) matches, if
    /// any. Every stored hash is computed and compared in constant time: salts differ per
    /// credential, so nothing can be looked up, and the time taken does not depend on which matched.
    public static func match(_ reported: Data, in hashes: [SecretHash]) -> Int? {
        var found: Int?
        for (index, hash) in hashes.enumerated() where hash.matches(secretSHA256: reported) { found = index }
        return found
    }
}
