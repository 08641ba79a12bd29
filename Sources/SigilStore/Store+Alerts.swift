import Foundation
import SQLKit
import SigilCore

/// An alert subscription as stored: its HMAC key stays sealed until a delivery signs with it.
public struct StoredAlertSubscription: Sendable {
    public var subscription: AlertSubscription
    public var key: SecretEnvelope

    public init(subscription: AlertSubscription, key: SecretEnvelope) {
        self.subscription = subscription
        self.key = key
    }

}

/// Alerts (issue 12): subscriptions, and the alerts written to the outbox (`WebhookOutbox.alerts`)
/// in the transaction that causes them (a risk detection, a leak report, a secret added to a
/// secretless tenant) or by the periodic scan (sign-in spikes, expiring credentials), which
/// remembers what it announced so each alert goes out once.
extension Store {
    // MARK: Subscriptions

    public func createAlertSubscription(_ stored: StoredAlertSubscription, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let subscription = stored.subscription
            try await Self.checkSubscriptionLimit(.alerts, ownerId: subscription.tenantId, on: database)
            try await database.raw("""
                INSERT INTO alert_subscriptions (id, tenant_id, url, kinds, spike_app, spike_tenant, spike_window_ms, expiring_within_ms,
                    allow_private_network, key_ciphertext, key_wrapped, kek_id, created_at)
                VALUES (\(bind: subscription.id), \(bind: subscription.tenantId), \(bind: subscription.url),
                    \(bind: subscription.kinds.sorted().map(\.rawValue).joined(separator: ",")), \(bind: subscription.spike.perApp),
                    \(bind: subscription.spike.perTenant), \(bind: Self.milliseconds(subscription.spike.window)),
                    \(bind: Self.milliseconds(subscription.expiringWithin)), \(bind: subscription.allowPrivateNetwork ? 1 : 0),
                    \(bind: stored.key.ciphertext), \(bind: stored.key.wrappedKey), \(bind: stored.key.kekId), \(bind: subscription.createdAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    public func alertSubscriptions(tenantId: String) async throws -> [AlertSubscription] {
        try await webhookSubscriptions(.alerts, ownerId: tenantId, decode: Self.alertSubscription)
    }

    public func alertSubscription(tenantId: String, id: String) async throws -> AlertSubscription? {
        try await webhookSubscriptions(.alerts, ownerId: tenantId, id: id, decode: Self.alertSubscription).first
    }

    /// Removes a subscription with its outbox: deliveries not yet made are dropped.
    public func deleteAlertSubscription(tenantId: String, id: String, audit: AuditEvent) async throws {
        try await deleteWebhookSubscription(.alerts, ownerId: tenantId, id: id, audit: audit)
    }

    // MARK: Alerts caused by a change

    /// Writes `alert` for each subscription of its tenant that receives its kind, inside the
    /// caller's transaction.
    static func enqueueAlert(_ alert: Alert, on database: any SQLDatabase) async throws {
        let subscriptions = try await database.raw("""
            SELECT id FROM alert_subscriptions WHERE tenant_id = \(bind: alert.tenantId) AND kinds LIKE \(bind: "%\(alert.kind.rawValue)%")
            """).all()
        for row in subscriptions {
            try await insertWebhookDelivery(.alerts, subscriptionId: try row.string("id"), eventType: alert.kind.rawValue, payload: alert.payload, at: alert.time, on: database)
        }
    }

    /// The alert a new risk detection causes: `leakReport` for a leak report's (with the revoked
    /// secret's hint), `riskDetection` for any other.
    static func enqueueRiskAlert(_ detection: RiskDetection, on database: any SQLDatabase) async throws {
        guard detection.riskEventType == RiskDetection.leakedCredentials else {
            return try await enqueueAlert(.riskDetection(detection), on: database)
        }
        var hint: String?
        if let keyId = detection.keyId {
            hint = try await database.raw("SELECT hint FROM password_credentials WHERE key_id = \(bind: keyId)").first()?.optionalString("hint")
        }
        try await enqueueAlert(.leakReport(detection, hint: hint), on: database)
    }

    /// The application `applicationId` (its tenant and names) when its tenant has no current
    /// client secret (none unrevoked and unexpired at `now`, on any of its applications); nil
    /// when it has one. Read before a secret is added, in the same transaction, to decide on
    /// `secretAdded`.
    static func secretlessOwner(
        applicationId: String, now: Date, on database: any SQLDatabase
    ) async throws -> (tenantId: String, appId: String, servicePrincipalId: String, displayName: String)? {
        guard let app = try await database.raw("""
            SELECT tenant_id, app_id, service_principal_id, display_name FROM applications WHERE object_id = \(bind: applicationId)
            """).first()
        else { return nil }
        let tenantId = try app.string("tenant_id")
        let current = try await database.raw("""
            SELECT p.key_id FROM password_credentials p JOIN applications a ON a.object_id = p.application_id
            WHERE a.tenant_id = \(bind: tenantId) AND p.revoked_at IS NULL AND p.disabled_at IS NULL AND p.end_at > \(bind: now.epochMilliseconds) LIMIT 1
            """).first()
        guard current == nil else { return nil }
        return (tenantId, try app.string("app_id"), try app.string("service_principal_id"), try app.string("display_name"))
    }

    // MARK: Alerts found by the scan

    /// Writes a `signInSpike` for each app and tenant whose failed or blocked sign-ins in the
    /// current or the previous window reached a subscription's threshold and were not announced
    /// to it yet. The previous window is looked at too, so a spike at a window's end is not
    /// missed by a scan that runs after it.
    public func announceSignInSpikes(now: Date) async throws {
        let subscriptions = try await read { database in
            try await database.raw("SELECT * FROM alert_subscriptions WHERE kinds LIKE \(bind: "%\(AlertKind.signInSpike.rawValue)%")")
                .all().map(Self.alertSubscription)
        }
        for subscription in subscriptions {
            let current = AlertSpikeRule.window(containing: now, length: subscription.spike.window)
            let previous = AlertSpikeRule.window(containing: current.start.addingTimeInterval(-1), length: subscription.spike.window)
            for window in [previous, current] {
                try await transaction(changesDirectory: false) { database in
                    let rows = try await database.raw("""
                        SELECT s.app_id, COUNT(*) AS failed, COUNT(a.app_id) AS known
                        FROM sign_ins s LEFT JOIN applications a ON a.app_id = s.app_id AND a.tenant_id = s.tenant_id
                        WHERE s.tenant_id = \(bind: subscription.tenantId) AND s.succeeded = 0
                            AND s.time >= \(bind: window.start.epochMilliseconds) AND s.time < \(bind: window.end.epochMilliseconds)
                        GROUP BY s.app_id
                        """).all()
                    var failedByApp: [String: Int] = [:]
                    var unattributed = 0
                    for row in rows {
                        let failed = Int(try row.int64("failed"))
                        if try row.int64("known") > 0 { failedByApp[try row.string("app_id")] = failed } else { unattributed += failed }
                    }
                    let announced = Set(try await database.raw("""
                        SELECT subject FROM alert_announcements WHERE subscription_id = \(bind: subscription.id)
                            AND until_at = \(bind: window.end.epochMilliseconds)
                        """).all().map { try $0.string("subject") })
                    let spikes = AlertSpikeRule.spikes(
                        failedByApp: failedByApp, unattributed: unattributed, thresholds: subscription.spike, window: window, announced: announced)
                    for spike in spikes {
                        guard try await Self.announce(spike.announcement, until: window.end, subscriptionId: subscription.id, on: database) else { continue }
                        let alert = Alert.signInSpike(spike, tenantId: subscription.tenantId, time: now)
                        try await Self.insertWebhookDelivery(
                            .alerts, subscriptionId: subscription.id, eventType: alert.kind.rawValue, payload: alert.payload, at: now, on: database)
                    }
                }
            }
        }
    }

    /// Writes a `credentialExpiring` for each current client secret and key credential whose end
    /// is within a subscription's lead time and which that subscription has not been told of, at
    /// most `limit` of each kind per call; returns how many of the more numerous kind were found.
    /// A credential found already past its end is not announced: it is expired, not expiring.
    /// Also forgets announcements that can no longer recur. Without any alert subscription it
    /// takes no write lock.
    @discardableResult
    public func announceExpiringCredentials(now: Date, limit: Int) async throws -> Int {
        let subscribed = try await read { database in
            try await database.raw("SELECT id FROM alert_subscriptions LIMIT 1").first() != nil
        }
        guard subscribed else { return 0 }
        return try await transaction(changesDirectory: false) { database in
            let nowMs = now.epochMilliseconds
            // Nothing ended longer ago than the longest spike window can be announced again.
            try await database.raw("""
                DELETE FROM alert_announcements WHERE until_at < \(bind: now.addingTimeInterval(-AlertRules.windows.upperBound).epochMilliseconds)
                """).run()
            let kinds = "%\(AlertKind.credentialExpiring.rawValue)%"
            let secrets = try await database.raw("""
                SELECT s.id AS subscription_id, a.tenant_id, a.app_id, a.service_principal_id, a.display_name AS app_name, c.key_id,
                    c.display_name, c.hint, NULL AS thumbprint, 'password' AS credential_type, c.end_at
                FROM alert_subscriptions s JOIN applications a ON a.tenant_id = s.tenant_id
                JOIN password_credentials c ON c.application_id = a.object_id AND c.revoked_at IS NULL AND c.disabled_at IS NULL
                LEFT JOIN alert_announcements n ON n.subscription_id = s.id AND n.subject = 'credential:' || c.key_id
                WHERE s.kinds LIKE \(bind: kinds) AND c.end_at > \(bind: nowMs) AND c.end_at - s.expiring_within_ms <= \(bind: nowMs)
                    AND n.subject IS NULL
                ORDER BY c.end_at LIMIT \(bind: limit)
                """).all()
            let keys = try await database.raw("""
                SELECT s.id AS subscription_id, a.tenant_id, a.app_id, a.service_principal_id, a.display_name AS app_name, c.key_id,
                    c.display_name, NULL AS hint, c.x5t AS thumbprint, c.kind AS credential_type, c.end_at
                FROM alert_subscriptions s JOIN applications a ON a.tenant_id = s.tenant_id
                JOIN key_credentials c ON c.application_id = a.object_id
                LEFT JOIN alert_announcements n ON n.subscription_id = s.id AND n.subject = 'credential:' || c.key_id
                WHERE s.kinds LIKE \(bind: kinds) AND c.end_at IS NOT NULL AND c.end_at > \(bind: nowMs)
                    AND c.end_at - s.expiring_within_ms <= \(bind: nowMs) AND n.subject IS NULL
                ORDER BY c.end_at LIMIT \(bind: limit)
                """).all()
            for row in secrets + keys {
                let subscriptionId = try row.string("subscription_id")
                let end = try row.date("end_at")
                let keyId = try row.string("key_id")
                // The announcement is the guard: a concurrent scan (another replica) that announced
                // it first leaves nothing to insert here, so no second alert is written.
                guard try await Self.announce("credential:\(keyId)", until: end, subscriptionId: subscriptionId, on: database) else { continue }
                let credential = AlertCredential(
                    appId: try row.string("app_id"), servicePrincipalId: try row.string("service_principal_id"), appDisplayName: try row.string("app_name"),
                    credentialType: try row.string("credential_type"), keyId: keyId, displayName: try row.string("display_name"),
                    hint: try row.optionalString("hint"), thumbprint: try row.optionalString("thumbprint"), endDateTime: end)
                let alert = Alert.credentialExpiring(credential, tenantId: try row.string("tenant_id"), time: now)
                try await Self.insertWebhookDelivery(.alerts, subscriptionId: subscriptionId, eventType: alert.kind.rawValue, payload: alert.payload, at: now, on: database)
            }
            return max(secrets.count, keys.count)
        }
    }

    /// Records that `subject` was announced to the subscription; false when it had been already.
    static func announce(_ subject: String, until: Date, subscriptionId: String, on database: any SQLDatabase) async throws -> Bool {
        try await !database.raw("""
            INSERT INTO alert_announcements (subscription_id, subject, until_at) VALUES (\(bind: subscriptionId), \(bind: subject), \(bind: until.epochMilliseconds))
            ON CONFLICT (subscription_id, subject) DO NOTHING RETURNING subject
            """).all().isEmpty
    }

    static func milliseconds(_ interval: TimeInterval) -> Int64 { Int64((interval * 1000).rounded()) }

    static func alertSubscription(_ row: any SQLRow) throws -> AlertSubscription {
        AlertSubscription(
            id: try row.string("id"), tenantId: try row.string("tenant_id"), url: try row.string("url"),
            kinds: Set(try row.string("kinds").split(separator: ",").compactMap { AlertKind(rawValue: String($0)) }),
            spike: SpikeThresholds(
                perApp: Int(try row.int64("spike_app")), perTenant: Int(try row.int64("spike_tenant")), window: Double(try row.int64("spike_window_ms")) / 1000),
            expiringWithin: Double(try row.int64("expiring_within_ms")) / 1000, allowPrivateNetwork: try row.bool("allow_private_network"),
            createdAt: try row.date("created_at"))
    }
}
