import Foundation

/// A webhook that receives a tenant's alerts (`sigil alert add`).
public struct AlertSubscription: Sendable, Equatable {
    public var id: String
    public var tenantId: String
    /// Where alerts are POSTed.
    public var url: String
    /// The kinds it receives; never empty.
    public var kinds: Set<AlertKind>
    public var spike: SpikeThresholds
    /// How long before a credential's end `credentialExpiring` is sent.
    public var expiringWithin: TimeInterval
    /// Whether `url` may be on a loopback, private or link-local address (and then plain HTTP).
    public var allowPrivateNetwork: Bool
    public var createdAt: Date

    public init(
        id: String, tenantId: String, url: String, kinds: Set<AlertKind>, spike: SpikeThresholds, expiringWithin: TimeInterval,
        allowPrivateNetwork: Bool, createdAt: Date
    ) {
        self.id = id
        self.tenantId = tenantId
        self.url = url
        self.kinds = kinds
        self.spike = spike
        self.expiringWithin = expiringWithin
        self.allowPrivateNetwork = allowPrivateNetwork
        self.createdAt = createdAt
    }
}

/// `--spike-app N --spike-tenant N --spike-window PT5M`: how many failed or blocked sign-ins in
/// one window make a spike, for one app and for the whole tenant.
public struct SpikeThresholds: Sendable, Equatable {
    public var perApp: Int
    public var perTenant: Int
    public var window: TimeInterval

    public init(perApp: Int, perTenant: Int, window: TimeInterval) {
        self.perApp = perApp
        self.perTenant = perTenant
        self.window = window
    }
}

/// A spike the scan found: `count` failed sign-ins in `window`, for `appId` or (nil) the tenant.
public struct SignInSpike: Sendable, Equatable {
    public var appId: String?
    public var count: Int
    public var threshold: Int
    public var window: DateInterval

    public init(appId: String?, count: Int, threshold: Int, window: DateInterval) {
        self.appId = appId
        self.count = count
        self.threshold = threshold
        self.window = window
    }

    /// What the store remembers so the spike is announced once per window: `app:ID@START` or `tenant@START`.
    public var announcement: String {
        "\(appId.map { "app:\($0)" } ?? "tenant")@\(Int64((window.start.timeIntervalSince1970 * 1000).rounded()))"
    }
}

/// The spike rule. Windows are fixed and aligned to the Unix epoch (00:00–00:05, 00:05–00:10 for
/// PT5M), so every replica and every scan agrees on which window a sign-in fell in, and a spike
/// fires at most once per window for each app and for the tenant, however often the scan runs.
public enum AlertSpikeRule {
    /// The window that holds `now`.
    public static func window(containing now: Date, length: TimeInterval) -> DateInterval {
        let start = (now.timeIntervalSince1970 / length).rounded(.down) * length
        return DateInterval(start: Date(timeIntervalSince1970: start), duration: length)
    }

    /// The spikes in one window: each app whose count reached `perApp`, and the tenant when the
    /// sum with `unattributed` (failures that name no app of the tenant, such as an unknown
    /// client id) reached `perTenant`, less those `announced` already (by `SignInSpike.announcement`).
    /// Unknown client ids count for the tenant only: a caller inventing ids cannot fan alerts out.
    public static func spikes(
        failedByApp: [String: Int], unattributed: Int, thresholds: SpikeThresholds, window: DateInterval, announced: Set<String>
    ) -> [SignInSpike] {
        var found = failedByApp.filter { $0.value >= thresholds.perApp }.sorted { $0.key < $1.key }
            .map { SignInSpike(appId: $0.key, count: $0.value, threshold: thresholds.perApp, window: window) }
        let total = failedByApp.values.reduce(unattributed, +)
        if total >= thresholds.perTenant { found.append(SignInSpike(appId: nil, count: total, threshold: thresholds.perTenant, window: window)) }
        return found.filter { !announced.contains($0.announcement) }
    }
}

/// The rules of alert subscriptions. Delivery (signature, backoff, what ends a delivery) is the
/// vault events' (`VaultEventRules`): one webhook path for both.
public enum AlertRules {
    public static let defaultSpike = SpikeThresholds(perApp: 20, perTenant: 100, window: 300)
    public static let defaultExpiringWithin: TimeInterval = 30 * 86_400
    /// Thresholds may be 1 to a million failed sign-ins.
    public static let thresholds: ClosedRange<Int> = 1...1_000_000
    /// A spike window may be a second (for tests) to a day.
    public static let windows: ClosedRange<TimeInterval> = 1...86_400
    /// The expiry lead may be a minute to a year.
    public static let expiringLeads: ClosedRange<TimeInterval> = 60...(365 * 86_400)
    /// The most subscriptions one tenant may have: each alert is written once per subscription.
    public static let maximumSubscriptionsPerTenant = 25
    /// Each delivery names the alert's kind in this header, beside `X-Sigil-Signature`…
    public static let typeHeader = "X-Sigil-Alert-Type"
    /// …and how many attempts came before it (0 on the first).
    public static let deliveryCountHeader = "X-Sigil-Delivery-Count"

    public static func kinds(_ names: [String]) throws(DirectoryRuleViolation) -> Set<AlertKind> {
        guard !names.isEmpty else { return Set(AlertKind.allCases) }
        var kinds = Set<AlertKind>()
        for name in names {
            guard let kind = AlertKind(rawValue: name) else {
                throw DirectoryRuleViolation(
                    field: "kinds", message: "unknown alert kind '\(name.prefix(64))'; known kinds: \(AlertKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kinds.insert(kind)
        }
        return kinds
    }

    public static func window(_ text: String) throws(DirectoryRuleViolation) -> TimeInterval {
        try duration(text, field: "spikeWindow", range: windows, shown: "PT1S to P1D, such as PT5M")
    }

    public static func expiringWithin(_ text: String) throws(DirectoryRuleViolation) -> TimeInterval {
        try duration(text, field: "expiringWithin", range: expiringLeads, shown: "PT1M to P365D, such as P30D")
    }

    private static func duration(_ text: String, field: String, range: ClosedRange<TimeInterval>, shown: String) throws(DirectoryRuleViolation) -> TimeInterval {
        guard let seconds = ISO8601Duration.seconds(text), range.contains(seconds) else {
            throw DirectoryRuleViolation(field: field, message: "\(field) '\(text.prefix(64))' must be an ISO-8601 duration from \(shown)")
        }
        return seconds
    }
}
