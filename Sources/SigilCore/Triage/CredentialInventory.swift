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
/// share that used no secret; of the applications that signed in, the share that used no secret.
/// Managed identities count in the sign-ins, not in the apps (they never had a secret to leave).
public struct SecretlessShare: Sendable, Equatable {
    /// One app's sign-ins on one day (or over the window).
    public struct Counts: Sendable, Equatable {
        public var secret: Int
        public var secretless: Int

        public init(secret: Int, secretless: Int) {
            self.secret = secret
            self.secretless = secretless
        }
    }

    public struct Figures: Sendable, Equatable {
        public var signIns: Int
        public var secretlessSignIns: Int
        public var apps: Int
        public var secretlessApps: Int

        /// nil when there were no sign-ins (a share of nothing is not zero).
        public var signInShare: Double? { signIns == 0 ? nil : Double(secretlessSignIns) / Double(signIns) }
        public var appShare: Double? { apps == 0 ? nil : Double(secretlessApps) / Double(apps) }

        /// The figures of `counts`, keyed by app id; `isApplication` says which ids are applications.
        public init(_ counts: [String: Counts], isApplication: (String) -> Bool) {
            signIns = 0
            secretlessSignIns = 0
            apps = 0
            secretlessApps = 0
            for (appId, count) in counts {
                signIns += count.secret + count.secretless
                secretlessSignIns += count.secretless
                guard isApplication(appId), count.secret + count.secretless > 0 else { continue }
                apps += 1
                if MigrationStage(secretSignIns: count.secret, secretlessSignIns: count.secretless) == .secretless { secretlessApps += 1 }
            }
        }
    }

    public var window: Figures
    /// Per UTC day with sign-ins, oldest first.
    public var days: [(day: Date, figures: Figures)]

    /// From per-app, per-day counts.
    public init(daily: [(day: Date, appId: String, counts: Counts)], isApplication: (String) -> Bool) {
        var total: [String: Counts] = [:]
        var byDay: [Date: [String: Counts]] = [:]
        for row in daily {
            total[row.appId, default: Counts(secret: 0, secretless: 0)].secret += row.counts.secret
            total[row.appId, default: Counts(secret: 0, secretless: 0)].secretless += row.counts.secretless
            byDay[row.day, default: [:]][row.appId] = row.counts
        }
        window = Figures(total, isApplication: isApplication)
        days = byDay.keys.sorted().map { ($0, Figures(byDay[$0] ?? [:], isApplication: isApplication)) }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.window == rhs.window && lhs.days.map(\.day) == rhs.days.map(\.day) && lhs.days.map(\.figures) == rhs.days.map(\.figures)
    }
}

extension InventoryItem {
    /// A client secret with its state at `now`.
    public init(_ secret: PasswordCredential, of app: ReportedApp, now: Date) {
        let state: State = secret.revokedAt != nil ? .revoked : secret.disabledAt != nil ? .disabled : secret.endDateTime <= now ? .expired : .enabled
        self.init(
            appId: app.appId, appDisplayName: app.displayName, principalKind: app.kind, type: .clientSecret, keyId: secret.keyId,
            displayName: secret.displayName, created: secret.startDateTime, expires: secret.endDateTime, state: state)
    }

    /// A certificate, a bare key, or (of a host's own identity) the host's key.
    public init(_ key: KeyCredential, of app: ReportedApp, now: Date) {
        let type: CredentialType = app.kind == .systemAssignedIdentity ? .managedIdentity : key.kind == .certificate ? .certificate : .clientAssertion
        let state: State = key.disabledAt != nil ? .disabled : key.endDateTime.map { $0 <= now } == true ? .expired : .enabled
        self.init(
            appId: app.appId, appDisplayName: app.displayName, principalKind: app.kind, type: type, keyId: key.keyId,
            displayName: key.displayName, created: key.startDateTime, expires: key.endDateTime, state: state)
        usageId = type == .certificate ? key.thumbprintHex ?? key.kid : key.kid
    }

    public init(_ federated: FederatedIdentityCredential, of app: ReportedApp) {
        self.init(
            appId: app.appId, appDisplayName: app.displayName, principalKind: app.kind, type: .federatedIdentityCredential,
            keyId: federated.id, displayName: federated.name, created: federated.createdAt, expires: nil,
            state: federated.disabledAt != nil ? .disabled : .enabled)
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
