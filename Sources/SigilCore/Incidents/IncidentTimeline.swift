import Foundation

/// What a service principal did and what was done to it over a window, from the sign-in and
/// audit logs: its sign-ins by resource, address and user agent with their results, what it
/// did with its tokens (admin calls, vault reads), and the changes to it and its credentials,
/// with who made them. Oldest first.
public struct IncidentTimeline: Sendable, Equatable {
    /// One thing that happened.
    public struct Entry: Sendable, Equatable {
        public enum Kind: String, Sendable {
            /// A token request of the principal.
            case signIn
            /// Something the principal did with a token (an admin call, a vault read).
            case action
            /// A change to the principal or its credentials, by whoever made it.
            case change
        }

        public var time: Date
        public var kind: Kind
        /// A sign-in's or audit event's id.
        public var id: String
        /// The sign-in's resource, or the audit event's action.
        public var what: String
        /// Who: the principal for sign-ins and actions, the actor for changes.
        public var actor: String
        public var ipAddress: String
        public var userAgent: String?
        public var credentialType: String?
        public var credentialId: String?
        public var succeeded: Bool
        /// The sign-in's error code, or the audit event's target.
        public var detail: String?
    }

    /// How often one value (a resource, an address, a user agent) was seen, and when.
    public struct Count: Sendable, Equatable {
        public var value: String
        public var signIns: Int
        public var failures: Int
        public var first: Date
        public var last: Date
    }

    public var since: Date
    public var until: Date
    public var entries: [Entry]
    /// True when the window held more than `limit` sign-ins or audit events: the oldest were left out.
    public var truncated: Bool
    public var resources: [Count]
    public var ipAddresses: [Count]
    public var userAgents: [Count]

    /// Builds the timeline of `principal` (its service principal id and the ids audit events name
    /// it by) from the logs read for it, each newest first and at most `limit` long.
    public init(
        servicePrincipalId: String, targetIds: Set<String>, signIns: [SignInEvent], audits: [AuditEvent], since: Date, until: Date, limit: Int
    ) {
        self.since = since
        self.until = until
        truncated = signIns.count >= limit || audits.count >= limit
        var entries = signIns.map { event in
            Entry(
                time: event.time, kind: .signIn, id: event.id, what: event.resource ?? "", actor: event.appDisplayName ?? event.appId,
                ipAddress: event.ipAddress, userAgent: event.userAgent, credentialType: event.credentialType?.rawValue,
                credentialId: event.credentialId, succeeded: event.succeeded, detail: event.errorCode.map { "AADSTS\($0)" })
        }
        entries += audits.map { event in
            let byPrincipal = event.actorId == servicePrincipalId && !targetIds.contains(event.targetId)
            return Entry(
                time: event.time, kind: byPrincipal ? .action : .change, id: event.id, what: event.action, actor: event.actorName,
                ipAddress: event.ipAddress, userAgent: nil, credentialType: nil, credentialId: Self.credentialId(event), succeeded: event.succeeded,
                detail: "\(event.targetType) \(event.targetId)")
        }
        self.entries = entries.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
        resources = Self.count(signIns, by: { $0.resource ?? "" })
        ipAddresses = Self.count(signIns, by: \.ipAddress)
        userAgents = Self.count(signIns, by: { $0.userAgent ?? "" })
    }

    /// The credential an audit event added, removed or changed, when it names one.
    static func credentialId(_ event: AuditEvent) -> String? {
        for side in [event.after, event.before] {
            for key in ["keyId", "id"] where event.action.contains("Credential") {
                if let id = side?.objectValue?[key]?.stringValue { return id }
            }
        }
        return nil
    }

    static func count(_ signIns: [SignInEvent], by value: (SignInEvent) -> String) -> [Count] {
        var counts: [String: Count] = [:]
        for event in signIns {
            let key = value(event)
            var count = counts[key] ?? Count(value: key, signIns: 0, failures: 0, first: event.time, last: event.time)
            count.signIns += 1
            if !event.succeeded { count.failures += 1 }
            count.first = min(count.first, event.time)
            count.last = max(count.last, event.time)
            counts[key] = count
        }
        return counts.values.sorted { ($1.signIns, $0.value) < ($0.signIns, $1.value) }
    }
}
