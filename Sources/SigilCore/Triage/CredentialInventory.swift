import Foundation

/// One credential of the tenant as the inventory shows it (DESIGN §8): what it is, whose, when it
/// was made and expires, and its use as the usage summary has it.
public struct InventoryItem: Sendable, Equatable {
    public enum State: String, Sendable {
        case enabled, disabled, revoked, expired
    }

    public var appId: String
    public var appDisplayName: String
    public var principalKind: PrincipalKind
    /// As sign-ins name it: `clientSecret`, `certificate`, `clientAssertion` (a bare key),
    /// `federatedIdentityCredential`, or `managedIdentity` (a host's key).
    public var type: CredentialType
    /// The keyId, or the federated credential's id.
    public var keyId: String
    public var displayName: String
    public var created: Date
    public var expires: Date?
    public var state: State
    public var lastUsed: Date?
    public var signIns: Int
    public var networks: [String]
    public var userAgents: [String]
    /// How sign-ins name the credential when that is not its keyId (a certificate's thumbprint, a key's kid).
    var usageId: String?

    public init(
        appId: String, appDisplayName: String, principalKind: PrincipalKind, type: CredentialType, keyId: String, displayName: String,
        created: Date, expires: Date?, state: State, lastUsed: Date? = nil, signIns: Int = 0, networks: [String] = [], userAgents: [String] = []
    ) {
        self.appId = appId
        self.appDisplayName = appDisplayName
        self.principalKind = principalKind
        self.type = type
        self.keyId = keyId
        self.displayName = displayName
        self.created = created
        self.expires = expires
        self.state = state
        self.lastUsed = lastUsed
        self.signIns = signIns
        self.networks = networks
        self.userAgents = userAgents
    }

    /// Whether it could sign in and has not for `unusedFor` (never used counts from its creation).
    public func isStale(now: Date, unusedFor: TimeInterval) -> Bool {
        state == .enabled && (lastUsed ?? created) < now.addingTimeInterval(-unusedFor)
    }

    /// Whether it is still valid and expires within `within`.
    public func isExpiring(now: Date, within: TimeInterval) -> Bool {
        guard let expires, state == .enabled || state == .disabled else { return false }
        return expires >= now && expires < now.addingTimeInterval(within)
    }
}

/// Where an app stands on its way off secrets, from its successful sign-ins in a window.
public enum MigrationStage: String, Sendable, CaseIterable {
    case secretOnly = "secret-only"
    case secretAndSecretless = "secret-and-secretless"
    case secretless
    case unused

    public init(secretSignIns: Int, secretlessSignIns: Int) {
        switch (secretSignIns > 0, secretlessSignIns > 0) {
        case (true, false): self = .secretOnly
        case (true, true): self = .secretAndSecretless
        case (false, true): self = .secretless
        case (false, false): self = .unused
        }
    }
}

/// The tenant's secretless share (`sigil report secretless`): of the successful sign-ins, the
/// share that used no secret; of the applications that signed in, the share in the `secretless`
/// stage (none of their sign-ins used a secret). Managed identities count in the sign-ins, not in
/// the apps: they never had a secret to leave. The store counts these over the usage summary.
public struct SecretlessShare: Sendable, Equatable {
    /// Successful sign-ins of one app over a window, with and without a client secret.
    public struct Counts: Sendable, Equatable {
        public var secret: Int
        public var secretless: Int

        public init(secret: Int, secretless: Int) {
            self.secret = secret
            self.secretless = secretless
        }

        public var stage: MigrationStage { MigrationStage(secretSignIns: secret, secretlessSignIns: secretless) }
    }

    public struct Figures: Sendable, Equatable {
        public var signIns: Int
        public var secretlessSignIns: Int
        /// Applications that signed in, and those of them in the `secretless` stage.
        public var apps: Int
        public var secretlessApps: Int

        public init(signIns: Int, secretlessSignIns: Int, apps: Int, secretlessApps: Int) {
            self.signIns = signIns
            self.secretlessSignIns = secretlessSignIns
            self.apps = apps
            self.secretlessApps = secretlessApps
        }

        /// nil when there were no sign-ins (a share of nothing is not zero).
        public var signInShare: Double? { signIns == 0 ? nil : Double(secretlessSignIns) / Double(signIns) }
        public var appShare: Double? { apps == 0 ? nil : Double(secretlessApps) / Double(apps) }
    }

    public var window: Figures
    /// Per UTC day with sign-ins, oldest first.
    public var days: [Day]

    public struct Day: Sendable, Equatable {
        public var day: Date
        public var figures: Figures

        public init(day: Date, figures: Figures) {
            self.day = day
            self.figures = figures
        }
    }

    public init(window: Figures, days: [Day]) {
        self.window = window
        self.days = days
    }
}

extension InventoryItem {
    /// What a listed credential is: a client secret, a key (a certificate with its `x5t`, or a
    /// bare key), or a federated credential.
    public enum Kind: Sendable {
        case secret
        case key(KeyCredential.Kind, x5t: String?, kid: String)
        case federated
    }

    /// A credential of `owner` as the store lists it, typed as its sign-ins name it (a host's key
    /// is the host identity's `managedIdentity`), in its state at `now`: revoked, else disabled,
    /// else expired, else enabled.
    public init(
        _ kind: Kind, owner: ReportedApp, keyId: String, displayName: String, created: Date, expires: Date?, revokedAt: Date?,
        disabledAt: Date?, now: Date
    ) {
        let type: CredentialType
        switch kind {
        case .secret: type = .clientSecret
        case .federated: type = .federatedIdentityCredential
        case .key(let keyKind, _, _):
            type = owner.kind == .systemAssignedIdentity ? .managedIdentity : keyKind == .certificate ? .certificate : .clientAssertion
        }
        let state: State = revokedAt != nil ? .revoked : disabledAt != nil ? .disabled : expires.map { $0 <= now } == true ? .expired : .enabled
        self.init(
            appId: owner.appId, appDisplayName: owner.displayName, principalKind: owner.kind, type: type, keyId: keyId,
            displayName: displayName, created: created, expires: expires, state: state)
        if case .key(_, let x5t, let kid) = kind {
            usageId = type == .certificate ? KeyCredential.thumbprintHex(x5t: x5t) ?? kid : kid
        }
    }

    /// The credential as its sign-ins name it in the usage summary.
    public var usageKey: UsageSummary.Credential { UsageSummary.Credential(appId: appId, type: type, id: usageId ?? keyId) }
}

/// An application or managed identity as the reports name it.
public struct ReportedApp: Sendable, Equatable {
    public var appId: String
    public var displayName: String
    public var kind: PrincipalKind

    public init(appId: String, displayName: String, kind: PrincipalKind) {
        self.appId = appId
        self.displayName = displayName
        self.kind = kind
    }
}
