import Foundation

/// A vault (DESIGN §6): a named set of secrets, addressed as `https://NAME.VAULT_DOMAIN`.
public struct Vault: Sendable, Equatable {
    public var id: String
    public var tenantId: String
    /// Lower-case, a DNS label: the vault's host name is built from it.
    public var name: String
    /// How long a deleted secret stays recoverable (7–90 days).
    public var retentionDays: Int
    /// Once on, deleted secrets can only expire, never be purged early; it cannot be turned off.
    public var purgeProtection: Bool
    public var createdAt: Date

    public init(id: String, tenantId: String, name: String, retentionDays: Int, purgeProtection: Bool, createdAt: Date) {
        self.id = id
        self.tenantId = tenantId
        self.name = name
        self.retentionDays = retentionDays
        self.purgeProtection = purgeProtection
        self.createdAt = createdAt
    }

    /// Key Vault's `recoveryLevel` for this vault's secrets.
    public var recoveryLevel: String { purgeProtection ? "Recoverable" : "Recoverable+Purgeable" }
}

/// What a secret version carries besides its value: Key Vault's `contentType`, `tags` and
/// `attributes` (`enabled`, `nbf`, `exp`).
public struct SecretProperties: Sendable, Equatable {
    public var contentType: String?
    public var tags: [String: String]
    public var enabled: Bool
    public var notBefore: Date?
    public var expires: Date?

    public init(contentType: String? = nil, tags: [String: String] = [:], enabled: Bool = true, notBefore: Date? = nil, expires: Date? = nil) {
        self.contentType = contentType
        self.tags = tags
        self.enabled = enabled
        self.notBefore = notBefore
        self.expires = expires
    }
}

/// One version of a secret, without its value (what lists show).
public struct SecretVersion: Sendable, Equatable {
    public var secretName: String
    /// 32 lower-case hex digits, as Key Vault writes them.
    public var version: String
    public var properties: SecretProperties
    public var createdAt: Date
    public var updatedAt: Date
    /// Set when Sigil wrote this version by rotating an app's client secret.
    public var managed: Bool

    public init(secretName: String, version: String, properties: SecretProperties, createdAt: Date, updatedAt: Date, managed: Bool = false) {
        self.secretName = secretName
        self.version = version
        self.properties = properties
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.managed = managed
    }
}

/// A secret's deletion: when, and when it will be purged (Key Vault's `deletedDate` and
/// `scheduledPurgeDate`).
public struct SecretDeletion: Sendable, Equatable {
    public var deletedAt: Date
    public var scheduledPurgeAt: Date

    public init(deletedAt: Date, scheduledPurgeAt: Date) {
        self.deletedAt = deletedAt
        self.scheduledPurgeAt = scheduledPurgeAt
    }
}
