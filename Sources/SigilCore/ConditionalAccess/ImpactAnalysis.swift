import Foundation

/// Replaying recorded sign-ins against a draft policy. A policy's verdict depends only on the
/// service principal, the address and the principal's risk, so sign-ins are replayed per
/// distinct (service principal, address) with their count, not one by one.
public enum ImpactAnalysis {
    /// Recorded sign-ins of one service principal from one address.
    public struct Group: Sendable, Equatable {
        public var servicePrincipalId: String
        public var appId: String
        public var appDisplayName: String?
        public var ipAddress: String
        public var signIns: Int
        public var lastSignIn: Date

        public init(servicePrincipalId: String, appId: String, appDisplayName: String?, ipAddress: String, signIns: Int, lastSignIn: Date) {
            self.servicePrincipalId = servicePrincipalId
            self.appId = appId
            self.appDisplayName = appDisplayName
            self.ipAddress = ipAddress
            self.signIns = signIns
            self.lastSignIn = lastSignIn
        }
    }

    /// The groups the draft would have blocked, evaluated as if it were enabled, with each
    /// principal's current risk (`risks`; absent means none).
    public static func blocked(
        _ groups: [Group], draft: ConditionalAccessPolicy, locations: [NamedLocation], risks: [String: RiskLevel]
    ) -> [Group] {
        var enforced = draft
        enforced.state = .enabled
        let set = ConditionalAccessPolicySet(policies: [enforced], locations: locations)
        return groups.filter { group in
            set.evaluate(servicePrincipalId: group.servicePrincipalId, address: group.ipAddress, risk: risks[group.servicePrincipalId] ?? .none)
                .first?.result == .failure
        }
    }
}
