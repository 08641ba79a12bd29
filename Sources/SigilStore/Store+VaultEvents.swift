import Foundation
import SQLKit
import SigilCore

/// A subscription as stored: its HMAC key stays sealed until a delivery signs with it.
public struct StoredVaultEventSubscription: Sendable {
    public var subscription: VaultEventSubscription
    public var key: SecretEnvelope

    public init(subscription: VaultEventSubscription, key: SecretEnvelope) {
        self.subscription = subscription
        self.key = key
    }

}

/// One event on its way to one subscription: a row of the vault events' outbox (its state,
/// attempts and errors read through to `delivery`), with its event read.
@dynamicMemberLookup
public struct VaultEventDelivery: Sendable, Equatable {
    public var delivery: WebhookDelivery
    public var event: VaultEvent

    public init(_ delivery: WebhookDelivery) throws {
        guard let event = VaultEvent(stored: delivery.payload) else {
            throw StoreError.unavailable("vault event delivery \(delivery.id) holds an unreadable event")
        }
        self.delivery = delivery
        self.event = event
    }

    public subscript<T>(dynamicMember path: KeyPath<WebhookDelivery, T>) -> T { delivery[keyPath: path] }
}

/// Vault events (issue 11, "rotating what Sigil did not issue"): subscriptions, the outbox of
/// deliveries and the announcements of expiry. Deliveries are written in the transaction that
/// causes them, so an event is never lost nor sent for a change that rolled back.
extension Store {
    // MARK: Subscriptions

    public func createVaultEventSubscription(_ stored: StoredVaultEventSubscription, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let subscription = stored.subscription
            try await Self.checkSubscriptionLimit(.vaultEvents, ownerId: subscription.vaultId, on: database)
            try await database.raw("""
                INSERT INTO vault_event_subscriptions (id, vault_id, url, secret_name_pattern, near_expiry_lead_ms, allow_private_network,
                    key_ciphertext, key_wrapped, kek_id, created_at)
                VALUES (\(bind: subscription.id), \(bind: subscription.vaultId), \(bind: subscription.url), \(bind: subscription.filter?.pattern),
                    \(bind: Int64((subscription.nearExpiryLead * 1000).rounded())), \(bind: subscription.allowPrivateNetwork ? 1 : 0),
                    \(bind: stored.key.ciphertext), \(bind: stored.key.wrappedKey), \(bind: stored.key.kekId), \(bind: subscription.createdAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    public func vaultEventSubscriptions(vaultId: String) async throws -> [StoredVaultEventSubscription] {
        try await webhookSubscriptions(.vaultEvents, ownerId: vaultId, decode: Self.eventSubscription)
    }

    public func vaultEventSubscription(vaultId: String, id: String) async throws -> StoredVaultEventSubscription? {
        try await webhookSubscriptions(.vaultEvents, ownerId: vaultId, id: id, decode: Self.eventSubscription).first
    }

    /// Removes a subscription with its outbox: deliveries not yet made are dropped.
    public func deleteVaultEventSubscription(vaultId: String, id: String, audit: AuditEvent) async throws {
        try await deleteWebhookSubscription(.vaultEvents, ownerId: vaultId, id: id, audit: audit)
    }

    // MARK: Deliveries

    /// A subscription's deliveries in one state (every state when nil), newest first.
    public func vaultEventDeliveries(subscriptionId: String, state: WebhookDelivery.State?, limit: Int) async throws -> [VaultEventDelivery] {
        try await webhookDeliveries(.vaultEvents, subscriptionId: subscriptionId, state: state, limit: limit).map(VaultEventDelivery.init)
    }

    // MARK: Events

    /// Writes a `SecretNewVersionCreated` for each subscription of the vault that receives the
    /// secret's events, inside the transaction that stores the version.
    static func enqueueNewVersionEvents(vaultId: String, secretName: String, version: SecretVersion, on database: any SQLDatabase) async throws {
        let subscriptions = try await database.raw("""
            SELECT s.*, v.tenant_id, v.name AS vault_name FROM vault_event_subscriptions s JOIN vaults v ON v.id = s.vault_id
            WHERE s.vault_id = \(bind: vaultId)
            """).all()
        for row in subscriptions {
            let subscription = try eventSubscription(row).subscription
            guard subscription.receives(secretName: secretName, moment: version.createdAt, versionCreated: version.createdAt) else { continue }
            let event = VaultEvent(
                type: .secretNewVersionCreated, time: version.createdAt, tenantId: try row.string("tenant_id"), vaultName: try row.string("vault_name"),
                secretName: secretName, version: version.version, notBefore: version.properties.notBefore, expires: version.properties.expires)
            try await insertDelivery(event, subscriptionId: subscription.id, at: version.createdAt, on: database)
        }
    }

    /// Finds current versions of live secrets whose near-expiry moment (`exp` less a
    /// subscription's lead time) or expiry has passed and that the subscription has not been told
    /// of, and writes those events, at most `limit` per call; returns how many were found. A
    /// version found already expired gets `SecretExpired` alone. What was announced is recorded
    /// with the events, so each goes out once per version and subscription.
    @discardableResult
    public func announceExpiringSecrets(now: Date, limit: Int) async throws -> Int {
        try await transaction(changesDirectory: false) { database in
            let nowMs = now.epochMilliseconds
            let candidates = try await database.raw("""
                SELECT sub.*, va.tenant_id, va.name AS vault_name, s.id AS secret_id, s.name AS secret_name, v.version,
                    v.not_before, v.expires, v.created_at AS version_created_at, COALESCE(a.stage, 0) AS stage
                FROM vault_event_subscriptions sub
                JOIN vaults va ON va.id = sub.vault_id
                JOIN vault_secrets s ON s.vault_id = sub.vault_id AND s.deleted_at IS NULL
                JOIN vault_secret_versions v ON v.secret_id = s.id AND v.seq = (SELECT MAX(seq) FROM vault_secret_versions WHERE secret_id = s.id)
                LEFT JOIN vault_event_announcements a ON a.subscription_id = sub.id AND a.secret_id = s.id AND a.version = v.version
                WHERE v.expires IS NOT NULL AND v.expires - sub.near_expiry_lead_ms <= \(bind: nowMs)
                    AND COALESCE(a.stage, 0) < CASE WHEN v.expires <= \(bind: nowMs) THEN 2 ELSE 1 END
                ORDER BY v.expires LIMIT \(bind: limit)
                """).all()
            for row in candidates {
                let subscription = try Self.eventSubscription(row).subscription
                let expires = try row.date("expires")
                let expired = expires <= now
                let type: VaultEventType = expired ? .secretExpired : .secretNearExpiry
                let moment = expired ? expires : expires.addingTimeInterval(-subscription.nearExpiryLead)
                let secretName = try row.string("secret_name")
                let version = try row.string("version")
                // The announcement is the guard: a concurrent scan (another replica) that moved
                // this stage first leaves nothing to update here, so no second event is written.
                let advanced = try await database.raw("""
                    INSERT INTO vault_event_announcements (subscription_id, secret_id, version, stage)
                    VALUES (\(bind: subscription.id), \(bind: try row.string("secret_id")), \(bind: version), \(bind: expired ? 2 : 1))
                    ON CONFLICT (subscription_id, secret_id, version) DO UPDATE SET stage = excluded.stage
                    WHERE vault_event_announcements.stage < excluded.stage
                    RETURNING stage
                    """).all()
                guard !advanced.isEmpty, subscription.receives(secretName: secretName, moment: moment, versionCreated: try row.date("version_created_at"))
                else { continue }
                let event = VaultEvent(
                    type: type, time: now, tenantId: try row.string("tenant_id"), vaultName: try row.string("vault_name"), secretName: secretName,
                    version: version, notBefore: try row.optionalDate("not_before"), expires: expires)
                try await Self.insertDelivery(event, subscriptionId: subscription.id, at: now, on: database)
            }
            return candidates.count
        }
    }

    static func insertDelivery(_ event: VaultEvent, subscriptionId: String, at now: Date, on database: any SQLDatabase) async throws {
        try await insertWebhookDelivery(.vaultEvents, subscriptionId: subscriptionId, eventType: event.type.rawValue, payload: event.stored, at: now, on: database)
    }

    static func eventSubscription(_ row: any SQLRow) throws -> StoredVaultEventSubscription {
        StoredVaultEventSubscription(
            subscription: VaultEventSubscription(
                id: try row.string("id"), vaultId: try row.string("vault_id"), url: try row.string("url"),
                filter: try row.optionalString("secret_name_pattern").map { try VaultEventFilter($0) },
                nearExpiryLead: Double(try row.int64("near_expiry_lead_ms")) / 1000, allowPrivateNetwork: try row.bool("allow_private_network"),
                createdAt: try row.date("created_at")),
            key: try sealedKey(row))
    }
}
