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

    /// What the key's seals are bound to.
    public var context: String { Self.context(id: subscription.id) }
    public static func context(id: String) -> String { "vault-event-subscription:\(id)" }
}

/// One event on its way to one subscription: the outbox row.
public struct VaultEventDelivery: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, delivered, dead
    }

    public var id: String
    public var subscriptionId: String
    public var event: VaultEvent
    public var state: State
    /// Attempts made (or under way).
    public var attempts: Int
    public var nextAttemptAt: Date
    public var createdAt: Date
    public var lastAttemptAt: Date?
    /// Why the last attempt failed: an HTTP status or a connection error, never a body.
    public var lastError: String?
}

/// How one attempt ended, as the delivery service records it.
public enum VaultEventOutcome: Sendable {
    case delivered
    case retry(at: Date, error: String)
    case dead(error: String)
}

/// Vault events (issue 11, "rotating what Sigil did not issue"): subscriptions, the outbox of
/// deliveries and the announcements of expiry. Deliveries are written in the transaction that
/// causes them, so an event is never lost nor sent for a change that rolled back.
extension Store {
    // MARK: Subscriptions

    public func createVaultEventSubscription(_ stored: StoredVaultEventSubscription, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let subscription = stored.subscription
            let count = try await database.raw("SELECT COUNT(*) AS total FROM vault_event_subscriptions WHERE vault_id = \(bind: subscription.vaultId)")
                .first()?.int64("total") ?? 0
            guard count < VaultEventRules.maximumSubscriptionsPerVault else {
                throw StoreError.conflict(
                    "the vault has \(count) event subscriptions, the most allowed (\(VaultEventRules.maximumSubscriptionsPerVault)); remove one first")
            }
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
        try await read { database in
            try await database.raw("SELECT * FROM vault_event_subscriptions WHERE vault_id = \(bind: vaultId) ORDER BY created_at, id")
                .all().map(Self.eventSubscription)
        }
    }

    public func vaultEventSubscription(vaultId: String, id: String) async throws -> StoredVaultEventSubscription? {
        try await read { database in
            try await database.raw("SELECT * FROM vault_event_subscriptions WHERE vault_id = \(bind: vaultId) AND id = \(bind: id)")
                .first().map(Self.eventSubscription)
        }
    }

    /// Removes a subscription with its outbox: deliveries not yet made are dropped.
    public func deleteVaultEventSubscription(vaultId: String, id: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let removed = try await database.raw("""
                DELETE FROM vault_event_subscriptions WHERE vault_id = \(bind: vaultId) AND id = \(bind: id) RETURNING id
                """).all()
            guard !removed.isEmpty else { throw StoreError.notFound("No event subscription '\(id)' on this vault.") }
            try await Self.insertAudit(audit, on: database)
        }
    }

    // MARK: Deliveries

    /// A subscription's deliveries in one state (every state when nil), newest first.
    public func vaultEventDeliveries(subscriptionId: String, state: VaultEventDelivery.State?, limit: Int) async throws -> [VaultEventDelivery] {
        try await read { database in
            let which: SQLQueryString = state.map { "AND state = \(bind: $0.rawValue)" } ?? ""
            return try await database.raw("""
                SELECT * FROM vault_event_deliveries WHERE subscription_id = \(bind: subscriptionId) \(which)
                ORDER BY created_at DESC, id LIMIT \(bind: limit)
                """).all().map(Self.delivery)
        }
    }

    /// Puts a dead-lettered delivery back in the outbox, due now, with its attempts reset.
    public func redeliverVaultEvent(subscriptionId: String, deliveryId: String, at now: Date, audit: AuditEvent) async throws -> VaultEventDelivery {
        try await transaction(changesDirectory: false) { database in
            guard let row = try await database.raw("""
                UPDATE vault_event_deliveries SET state = 'pending', attempts = 0, next_attempt_at = \(bind: now.epochMilliseconds)
                WHERE id = \(bind: deliveryId) AND subscription_id = \(bind: subscriptionId) AND state = 'dead'
                RETURNING *
                """).first()
            else { throw StoreError.notFound("No dead-lettered delivery '\(deliveryId)' on this subscription; only dead letters are redelivered.") }
            try await Self.insertAudit(audit, on: database)
            return try Self.delivery(row)
        }
    }

    /// Claims up to `limit` due deliveries for one attempt each: the attempt is counted and the
    /// delivery is not due again until `lease` has passed, so a process that dies mid-attempt
    /// leaves it to be retried, and two replicas never claim one delivery at once. Each claim is
    /// one conditional update, so an empty outbox costs one read and takes no write lock.
    public func claimDueVaultEvents(now: Date, lease: TimeInterval, limit: Int) async throws -> [(VaultEventDelivery, StoredVaultEventSubscription)] {
        let due = try await read { database in
            try await database.raw("""
                SELECT d.*, s.vault_id, s.url, s.secret_name_pattern, s.near_expiry_lead_ms, s.allow_private_network, s.key_ciphertext,
                    s.key_wrapped, s.kek_id, s.created_at AS subscribed_at
                FROM vault_event_deliveries d JOIN vault_event_subscriptions s ON s.id = d.subscription_id
                WHERE d.state = 'pending' AND d.next_attempt_at <= \(bind: now.epochMilliseconds)
                ORDER BY d.next_attempt_at LIMIT \(bind: limit)
                """).all().map { (try Self.delivery($0), try Self.eventSubscription($0, id: "subscription_id", createdAt: "subscribed_at")) }
        }
        var claimed: [(VaultEventDelivery, StoredVaultEventSubscription)] = []
        for (found, subscription) in due {
            let taken = try await write { database in
                try await database.raw("""
                    UPDATE vault_event_deliveries SET attempts = attempts + 1, last_attempt_at = \(bind: now.epochMilliseconds),
                        next_attempt_at = \(bind: now.addingTimeInterval(lease).epochMilliseconds)
                    WHERE id = \(bind: found.id) AND attempts = \(bind: found.attempts) AND state = 'pending' RETURNING id
                    """).all().count
            }
            guard taken == 1 else { continue }
            var delivery = found
            delivery.attempts += 1
            delivery.lastAttemptAt = now
            claimed.append((delivery, subscription))
        }
        return claimed
    }

    /// Records how the claimed attempt number `attempt` ended. An attempt whose lease ran out and
    /// was claimed again records nothing: the newer attempt's result counts.
    public func finishVaultEventDelivery(id: String, attempt: Int, outcome: VaultEventOutcome) async throws {
        let (state, next, error): (VaultEventDelivery.State, Date?, String?) =
            switch outcome {
            case .delivered: (.delivered, nil, nil)
            case .retry(let at, let error): (.pending, at, error)
            case .dead(let error): (.dead, nil, error)
            }
        try await write { database in
            try await database.raw("""
                UPDATE vault_event_deliveries SET state = \(bind: state.rawValue), last_error = \(bind: error),
                    next_attempt_at = COALESCE(\(bind: next?.epochMilliseconds), next_attempt_at)
                WHERE id = \(bind: id) AND attempts = \(bind: attempt) AND state = 'pending'
                """).run()
        }
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
        try await database.raw("""
            INSERT INTO vault_event_deliveries (id, subscription_id, event_type, event, state, attempts, next_attempt_at, created_at)
            VALUES (\(bind: RandomIdentifier.uuid()), \(bind: subscriptionId), \(bind: event.type.rawValue), \(bind: event.stored.serialized()),
                'pending', 0, \(bind: now.epochMilliseconds), \(bind: now.epochMilliseconds))
            """).run()
    }

    static func eventSubscription(_ row: any SQLRow) throws -> StoredVaultEventSubscription {
        try eventSubscription(row, id: "id", createdAt: "created_at")
    }

    /// A subscription from a row that may name its id and creation columns otherwise (joins).
    static func eventSubscription(_ row: any SQLRow, id: String, createdAt: String) throws -> StoredVaultEventSubscription {
        let subscriptionId = try row.string(id)
        return StoredVaultEventSubscription(
            subscription: VaultEventSubscription(
                id: subscriptionId, vaultId: try row.string("vault_id"), url: try row.string("url"),
                filter: try row.optionalString("secret_name_pattern").map { try VaultEventFilter($0) },
                nearExpiryLead: Double(try row.int64("near_expiry_lead_ms")) / 1000, allowPrivateNetwork: try row.bool("allow_private_network"),
                createdAt: try row.date(createdAt)),
            key: SecretEnvelope(ciphertext: try row.string("key_ciphertext"), wrappedKey: try row.string("key_wrapped"), kekId: try row.string("kek_id")))
    }

    static func delivery(_ row: any SQLRow) throws -> VaultEventDelivery {
        let text = try row.string("event")
        guard let event = (try? JSONParser.parse(Array(text.utf8))).flatMap(VaultEvent.init(stored:)) else {
            throw StoreError.unavailable("vault event delivery \(try row.string("id")) holds an unreadable event")
        }
        return VaultEventDelivery(
            id: try row.string("id"), subscriptionId: try row.string("subscription_id"), event: event,
            state: VaultEventDelivery.State(rawValue: try row.string("state")) ?? .dead, attempts: Int(try row.int64("attempts")),
            nextAttemptAt: try row.date("next_attempt_at"), createdAt: try row.date("created_at"), lastAttemptAt: try row.optionalDate("last_attempt_at"),
            lastError: try row.optionalString("last_error"))
    }
}
