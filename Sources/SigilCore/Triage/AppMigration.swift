import Foundation

/// One app's walk off its client secrets (`sigil migrate`, DESIGN §8): the replacement that was
/// applied, the secrets it replaces, and where the walk stands.
public struct AppMigration: Sendable, Equatable {
    public enum State: String, Sendable {
        /// The replacement exists; the secrets still work.
        case applied
        /// The secrets are disabled (`finish`); `rollback` enables them again.
        case finished
        /// The secrets were enabled again after a finish; `finish` may run again.
        case rolledBack
        /// The disabled secrets were deleted after the retention period; nothing to roll back.
        case deleted
    }

    /// The credential that replaces the secrets, as its sign-ins name it.
    public struct Replacement: Sendable, Equatable {
        public var kind: MigrationProposal.Kind
        /// The app id that signs in with it: the app itself, or a managed identity.
        public var appId: String
        public var credentialType: CredentialType
        /// The credential id its sign-ins record; nil for a managed identity (any of its hosts' keys).
        public var credentialId: String?
        public var displayName: String

        public init(kind: MigrationProposal.Kind, appId: String, credentialType: CredentialType, credentialId: String?, displayName: String) {
            self.kind = kind
            self.appId = appId
            self.credentialType = credentialType
            self.credentialId = credentialId
            self.displayName = displayName
        }
    }

    public var id: String
    public var tenantId: String
    /// The application's object id, and its app id.
    public var applicationId: String
    public var appId: String
    public var state: State
    public var replacement: Replacement
    /// The keyIds of the client secrets the replacement takes over from.
    public var secretKeyIds: [String]
    public var appliedAt: Date
    public var finishedAt: Date?
    /// When the disabled secrets are deleted (set by `finish`).
    public var deleteAfter: Date?

    public init(
        id: String, tenantId: String, applicationId: String, appId: String, state: State, replacement: Replacement, secretKeyIds: [String],
        appliedAt: Date, finishedAt: Date? = nil, deleteAfter: Date? = nil
    ) {
        self.id = id
        self.tenantId = tenantId
        self.applicationId = applicationId
        self.appId = appId
        self.state = state
        self.replacement = replacement
        self.secretKeyIds = secretKeyIds
        self.appliedAt = appliedAt
        self.finishedAt = finishedAt
        self.deleteAfter = deleteAfter
    }

    public static let defaultSoak: TimeInterval = 7 * 86_400
    public static let defaultRetention: TimeInterval = 30 * 86_400

    /// Why `finish` may not run yet, or nil when it may: the secrets must have gone unused for
    /// `soak` while the replacement signed in successfully within it.
    public func finishBlocker(secretsLastUsed: Date?, replacementLastUsed: Date?, now: Date, soak: TimeInterval) -> String? {
        switch state {
        case .finished: return "the migration of app '\(appId)' is already finished: its secrets are disabled (sigil migrate rollback enables them again)"
        case .deleted: return "the migration of app '\(appId)' is over: its secrets were deleted"
        case .applied, .rolledBack: break
        }
        let soakStart = now.addingTimeInterval(-soak)
        if let used = secretsLastUsed, used > soakStart {
            return "a replaced secret was used at \(used.formatted(.iso8601)), less than the soak period (\(Self.describe(soak))) ago; finish can run from \(used.addingTimeInterval(soak).formatted(.iso8601)) if it stays unused. sigil migrate status shows what still uses it"
        }
        guard let working = replacementLastUsed, working > soakStart else {
            return "the replacement (\(replacement.displayName)) has no successful sign-in within the soak period (\(Self.describe(soak))); switch the app to it first, and check with sigil migrate status"
        }
        return nil
    }

    static func describe(_ interval: TimeInterval) -> String {
        interval >= 86_400 && interval.truncatingRemainder(dividingBy: 86_400) == 0 ? "\(Int(interval / 86_400)) days" : "\(Int(interval)) s"
    }
}
