import Foundation

/// The containment of one service principal (`sigil incident contain SP`): what was switched off
/// and when, so that `release` switches back on exactly that and nothing an administrator had
/// switched off before.
public struct Incident: Sendable, Equatable {
    public enum State: String, Sendable {
        case contained
        case released
    }

    /// A credential the containment disabled: `passwordCredential`, `keyCredential` or `federatedIdentityCredential`, and its id.
    public struct Credential: Sendable, Equatable {
        public var kind: String
        public var id: String

        public init(kind: String, id: String) {
            self.kind = kind
            self.id = id
        }
    }

    public var id: String
    public var tenantId: String
    /// The application or managed identity (its object id), and its service principal and appId.
    public var applicationId: String
    public var servicePrincipalId: String
    public var appId: String
    public var displayName: String
    public var state: State
    public var containedAt: Date
    /// Who contained it: the caller's service principal id and display name.
    public var containedBy: Actor
    public var releasedAt: Date?
    public var releasedBy: Actor?
    /// Whether the principal was enabled when it was contained: release enables it again only then.
    public var wasEnabled: Bool
    /// The credentials the containment disabled (those already disabled are not listed).
    public var disabledCredentials: [Credential]
    /// The vault secrets the principal could read, each with what was done about it.
    public var secrets: [ExposedSecret]

    /// Someone who acted on the incident.
    public struct Actor: Sendable, Equatable {
        public var id: String
        public var displayName: String

        public init(id: String, displayName: String) {
            self.id = id
            self.displayName = displayName
        }
    }

    public init(
        id: String, tenantId: String, applicationId: String, servicePrincipalId: String, appId: String, displayName: String, state: State,
        containedAt: Date, containedBy: Actor, releasedAt: Date? = nil, releasedBy: Actor? = nil, wasEnabled: Bool,
        disabledCredentials: [Credential], secrets: [ExposedSecret]
    ) {
        self.id = id
        self.tenantId = tenantId
        self.applicationId = applicationId
        self.servicePrincipalId = servicePrincipalId
        self.appId = appId
        self.displayName = displayName
        self.state = state
        self.containedAt = containedAt
        self.containedBy = containedBy
        self.releasedAt = releasedAt
        self.releasedBy = releasedBy
        self.wasEnabled = wasEnabled
        self.disabledCredentials = disabledCredentials
        self.secrets = secrets
    }
}

/// A vault secret a contained principal could read, and how it is to be replaced.
public struct ExposedSecret: Sendable, Equatable {
    public enum Rotation: String, Sendable {
        /// Its rotation policy's next rotation was made due now: the rotation service mints a new value.
        case due
        /// Its rotation is in its overlap: the replaced value is removed at the overlap's end and
        /// the next rotation, now due, follows at once.
        case afterOverlap
        /// No rotation policy: an administrator must set a new value (`sigil vault secret set`).
        case manual
    }

    public var vaultId: String
    public var vault: String
    public var name: String
    public var rotation: Rotation

    public init(vaultId: String, vault: String, name: String, rotation: Rotation) {
        self.vaultId = vaultId
        self.vault = vault
        self.name = name
        self.rotation = rotation
    }

    /// The secrets among `secrets` (vault id, vault name, secret name) that `grants` lets read:
    /// `vault.secrets.get` at the tenant, on the vault, or on that one secret.
    public static func readable(
        _ secrets: [(vaultId: String, vault: String, name: String)], grants: RoleGrants
    ) -> [(vaultId: String, vault: String, name: String)] {
        secrets.filter { grants.allows(.vaultSecretsGet, onVault: $0.vaultId, secret: $0.name) }
    }
}

/// Why a containment or release is refused, in one sentence that says what to do.
public struct IncidentRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }

    public static func alreadyContained(_ name: String, since: Date) -> IncidentRefusal {
        IncidentRefusal("'\(name)' is already contained (since \(since.formatted(.iso8601))); `sigil incident show` shows it, `sigil incident release` ends it.")
    }

    public static func notContained(_ name: String) -> IncidentRefusal {
        IncidentRefusal("'\(name)' is not contained; nothing to release (`sigil incident contain` contains it).")
    }
}
