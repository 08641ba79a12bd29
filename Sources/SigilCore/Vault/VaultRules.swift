import Foundation

/// The rules vaults and secrets obey (Key Vault's limits), however they arrive.
public enum VaultRules {
    /// The largest value a secret version may hold: 25 KB (Key Vault's limit), in UTF-8 bytes.
    public static let maximumValueBytes = 25 * 1024
    public static let maximumTags = 15
    public static let maximumTagNameLength = 512
    public static let maximumTagValueLength = 256
    public static let maximumContentTypeLength = 255
    public static let retentionDays = 7...90
    public static let defaultRetentionDays = 90

    /// Vault names are DNS labels (the vault's host name starts with one): 3–24 characters of
    /// letters, digits and single hyphens, starting with a letter and not ending with a hyphen.
    /// Case-insensitive; kept in lower case.
    public static func checkVaultName(_ name: String) throws(DirectoryRuleViolation) {
        let scalars = Array(name.unicodeScalars)
        let valid = (3...24).contains(scalars.count) && scalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
            && scalars.first.map { $0.properties.isAlphabetic } == true && scalars.last != "-" && !name.contains("--")
        guard valid else {
            throw DirectoryRuleViolation(
                field: "name",
                message: "vault name '\(name.prefix(64))' must be 3–24 letters, digits and single hyphens, start with a letter and not end with a hyphen (it becomes a host name)")
        }
    }

    /// The vault domain (`--vault-domain`): a DNS name of at least two labels, each 1–63 letters,
    /// digits and inner hyphens; vaults are served at `NAME.DOMAIN`.
    public static func checkVaultDomain(_ domain: String) throws(DirectoryRuleViolation) {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        let valid = domain.count <= 200 && labels.count >= 2 && labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        } && !labels.last!.allSatisfy(\.isNumber)
        guard valid else {
            throw DirectoryRuleViolation(
                field: "vaultDomain", message: "the vault domain '\(domain.prefix(64))' must be a DNS name such as vault.example.com (vaults are served at NAME.DOMAIN)")
        }
    }

    /// Secret names: `^[0-9a-zA-Z-]{1,127}$`, compared case-insensitively.
    public static func checkSecretName(_ name: String) throws(DirectoryRuleViolation) {
        let scalars = name.unicodeScalars
        guard (1...127).contains(scalars.count), scalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }) else {
            throw DirectoryRuleViolation(
                field: "name", message: "secret name '\(name.prefix(64))' must be 1–127 characters of letters, digits and hyphens (^[0-9a-zA-Z-]{1,127}$)")
        }
    }

    /// A version id: 32 hex digits.
    public static func isVersion(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { ("0"..."9").contains(Character(UnicodeScalar($0))) || ("a"..."f").contains(Character(UnicodeScalar($0))) }
    }

    public static func checkValue(_ value: String) throws(DirectoryRuleViolation) {
        let size = value.utf8.count
        guard size <= maximumValueBytes else {
            throw DirectoryRuleViolation(field: "value", message: "the secret value is \(size) bytes; at most \(maximumValueBytes) (25 KB) are allowed")
        }
    }

    public static func checkProperties(_ properties: SecretProperties) throws(DirectoryRuleViolation) {
        if let contentType = properties.contentType, contentType.count > maximumContentTypeLength || contentType.containsControlCharacters {
            throw DirectoryRuleViolation(field: "contentType", message: "contentType may be at most \(maximumContentTypeLength) characters, without control characters")
        }
        guard properties.tags.count <= maximumTags else {
            throw DirectoryRuleViolation(field: "tags", message: "a secret may have at most \(maximumTags) tags; this one has \(properties.tags.count)")
        }
        for (name, value) in properties.tags {
            guard !name.isEmpty, name.count <= maximumTagNameLength, value.count <= maximumTagValueLength,
                !name.containsControlCharacters, !value.containsControlCharacters
            else {
                throw DirectoryRuleViolation(
                    field: "tags",
                    message: "tag names are 1–\(maximumTagNameLength) characters and values at most \(maximumTagValueLength), without control characters ('\(name.prefix(64))')")
            }
        }
        if let notBefore = properties.notBefore, let expires = properties.expires, expires <= notBefore {
            throw DirectoryRuleViolation(field: "attributes", message: "exp must come after nbf")
        }
    }

    public static func checkRetention(_ days: Int) throws(DirectoryRuleViolation) {
        guard retentionDays.contains(days) else {
            throw DirectoryRuleViolation(field: "retentionDays", message: "soft-delete retention must be 7–90 days, not \(days)")
        }
    }

    /// Whether a version's value may be read now: enabled, and inside its `nbf`/`exp` window.
    /// Key Vault answers a disabled or expired version with 403 `Forbidden`.
    public static func readRefusal(_ properties: SecretProperties, now: Date) -> String? {
        if !properties.enabled { return "Operation get is not allowed on a disabled secret." }
        if let expires = properties.expires, expires <= now { return "Secret is expired (exp \(expires.formatted(.iso8601))); set a new version or update exp." }
        if let notBefore = properties.notBefore, notBefore > now { return "Secret is not valid yet (nbf \(notBefore.formatted(.iso8601)))." }
        return nil
    }

    /// Key Vault's words for a secret, or one version of it, that is not there.
    public static func notFound(_ name: String, _ version: String?) -> String {
        "A secret with (name/id) \(name)\(version.map { "/" + $0 } ?? "") was not found in this key vault."
    }

    /// A new version id.
    public static func newVersion() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
