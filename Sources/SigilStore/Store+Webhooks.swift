import Foundation
import SQLKit
import SigilCore

/// The outboxes one delivery service drains: vault events and alerts. Both have the same shape
/// (a subscriptions table with a URL and a KEK-sealed HMAC key, a deliveries table with the
/// payload, state, attempts and next attempt), so claiming, recording an attempt, backoff, dead
/// letters and redelivery are one code path over either pair of tables.
public enum WebhookOutbox: String, Sendable, CaseIterable {
    case vaultEvents, alerts

    var subscriptions: SQLQueryString { self == .vaultEvents ? "vault_event_subscriptions" : "alert_subscriptions" }
    var deliveries: SQLQueryString { self == .vaultEvents ? "vault_event_deliveries" : "alert_deliveries" }
    /// What a subscription belongs to: a vault, or a tenant.
    var owner: SQLQueryString { self == .vaultEvents ? "vault_id" : "tenant_id" }
    var ownerName: String { self == .vaultEvents ? "vault" : "tenant" }
    var subscriptionName: String { self == .vaultEvents ? "event subscription" : "alert subscription" }
    /// The most subscriptions one owner may have: each event or alert is written once per subscription.
    var maximumSubscriptions: Int { self == .vaultEvents ? VaultEventRules.maximumSubscriptionsPerVault : AlertRules.maximumSubscriptionsPerTenant }

    /// What a subscription's key seals are bound to.
    public func keyContext(subscriptionId: String) -> String {
        switch self {
        case .vaultEvents: "vault-event-subscription:\(subscriptionId)"
        case .alerts: "alert-subscription:\(subscriptionId)"
        }
    }
}

/// One payload on its way to one subscription: an outbox row of either outbox.
public struct WebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, delivered, dead
    }

    public var id: String
    public var subscriptionId: String
    /// The vault event's or alert's type.
    public var eventType: String
    /// What the outbox keeps: a vault event's facts, or an alert's body as sent.
    public var payload: JSONValue
    public var state: State
    /// Attempts made (or under way).
    public var attempts: Int
    public var nextAttemptAt: Date
    public var createdAt: Date
    public var lastAttemptAt: Date?
    /// Why the last attempt failed: an HTTP status or a connection error, never a body.
    public var lastError: String?
}

/// Where a claimed delivery goes, and the sealed key that signs it.
public struct WebhookTarget: Sendable {
    public var subscriptionId: String
    public var url: String
    public var allowPrivateNetwork: Bool
    public var key: SecretEnvelope
}

/// How one attempt ended, as the delivery service records it.
public enum WebhookOutcome: Sendable {
    case delivered
    case retry(at: Date, error: String)
    case dead(error: String)
}

extension Store {
    /// An owner's subscriptions, oldest first, or the one with `id`.
    func webhookSubscriptions<T: Sendable>(
        _ outbox: WebhookOutbox, ownerId: String, id: String? = nil, decode: @escaping @Sendable (any SQLRow) throws -> T
    ) async throws -> [T] {
        try await read { database in
            let which: SQLQueryString = id.map { "AND id = \(bind: $0)" } ?? ""
            return try await database.raw("""
                SELECT * FROM \(outbox.subscriptions) WHERE \(outbox.owner) = \(bind: ownerId) \(which) ORDER BY created_at, id
                """).all().map(decode)
        }
    }

    /// Refuses, inside the creating transaction, a subscription past its owner's limit.
    static func checkSubscriptionLimit(_ outbox: WebhookOutbox, ownerId: String, on database: any SQLDatabase) async throws {
        let count = try await database.raw("SELECT COUNT(*) AS total FROM \(outbox.subscriptions) WHERE \(outbox.owner) = \(bind: ownerId)")
            .first()?.int64("total") ?? 0
        guard count < outbox.maximumSubscriptions else {
            throw StoreError.conflict(
                "the \(outbox.ownerName) has \(count) \(outbox.subscriptionName)s, the most allowed (\(outbox.maximumSubscriptions)); remove one first")
        }
    }

    /// Removes a subscription with its outbox: deliveries not yet made are dropped.
    func deleteWebhookSubscription(_ outbox: WebhookOutbox, ownerId: String, id: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let removed = try await database.raw("""
                DELETE FROM \(outbox.subscriptions) WHERE \(outbox.owner) = \(bind: ownerId) AND id = \(bind: id) RETURNING id
                """).all()
            guard !removed.isEmpty else { throw StoreError.notFound("No \(outbox.subscriptionName) '\(id)' on this \(outbox.ownerName).") }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// A subscription's deliveries in one state (every state when nil), newest first.
    public func webhookDeliveries(_ outbox: WebhookOutbox, subscriptionId: String, state: WebhookDelivery.State?, limit: Int) async throws -> [WebhookDelivery] {
        try await read { database in
            let which: SQLQueryString = state.map { "AND state = \(bind: $0.rawValue)" } ?? ""
            return try await database.raw("""
                SELECT * FROM \(outbox.deliveries) WHERE subscription_id = \(bind: subscriptionId) \(which)
                ORDER BY created_at DESC, id LIMIT \(bind: limit)
                """).all().map(Self.webhookDelivery)
        }
    }

    /// Puts a dead-lettered delivery back in the outbox, due now, with its attempts reset.
    public func redeliverWebhook(_ outbox: WebhookOutbox, subscriptionId: String, deliveryId: String, at now: Date, audit: AuditEvent) async throws -> WebhookDelivery {
        try await transaction(changesDirectory: false) { database in
            guard let row = try await database.raw("""
                UPDATE \(outbox.deliveries) SET state = 'pending', attempts = 0, next_attempt_at = \(bind: now.epochMilliseconds)
                WHERE id = \(bind: deliveryId) AND subscription_id = \(bind: subscriptionId) AND state = 'dead'
                RETURNING *
                """).first()
            else { throw StoreError.notFound("No dead-lettered delivery '\(deliveryId)' on this subscription; only dead letters are redelivered.") }
            try await Self.insertAudit(audit, on: database)
            return try Self.webhookDelivery(row)
        }
    }

    /// Claims up to `limit` due deliveries for one attempt each: the attempt is counted and the
    /// delivery is not due again until `lease` has passed, so a process that dies mid-attempt
    /// leaves it to be retried, and two replicas never claim one delivery at once. Each claim is
    /// one conditional update, so an empty outbox costs one read and takes no write lock.
    public func claimDueWebhooks(_ outbox: WebhookOutbox, now: Date, lease: TimeInterval, limit: Int) async throws -> [(WebhookDelivery, WebhookTarget)] {
        let due = try await read { database in
            try await database.raw("""
                SELECT d.*, s.url, s.allow_private_network, s.key_ciphertext, s.key_wrapped, s.kek_id
                FROM \(outbox.deliveries) d JOIN \(outbox.subscriptions) s ON s.id = d.subscription_id
                WHERE d.state = 'pending' AND d.next_attempt_at <= \(bind: now.epochMilliseconds)
                ORDER BY d.next_attempt_at LIMIT \(bind: limit)
                """).all().map { row in
                    let target = WebhookTarget(
                        subscriptionId: try row.string("subscription_id"), url: try row.string("url"), allowPrivateNetwork: try row.bool("allow_private_network"),
                        key: try Self.sealedKey(row))
                    return (try Self.webhookDelivery(row), target)
                }
        }
        var claimed: [(WebhookDelivery, WebhookTarget)] = []
        for (found, target) in due {
            let taken = try await write { database in
                try await database.raw("""
                    UPDATE \(outbox.deliveries) SET attempts = attempts + 1, last_attempt_at = \(bind: now.epochMilliseconds),
                        next_attempt_at = \(bind: now.addingTimeInterval(lease).epochMilliseconds)
                    WHERE id = \(bind: found.id) AND attempts = \(bind: found.attempts) AND state = 'pending' RETURNING id
                    """).all().count
            }
            guard taken == 1 else { continue }
            var delivery = found
            delivery.attempts += 1
            delivery.lastAttemptAt = now
            claimed.append((delivery, target))
        }
        return claimed
    }

    /// Records how the claimed attempt number `attempt` ended. An attempt whose lease ran out and
    /// was claimed again records nothing: the newer attempt's result counts.
    public func finishWebhookDelivery(_ outbox: WebhookOutbox, id: String, attempt: Int, outcome: WebhookOutcome) async throws {
        let (state, next, error): (WebhookDelivery.State, Date?, String?) =
            switch outcome {
            case .delivered: (.delivered, nil, nil)
            case .retry(let at, let error): (.pending, at, error)
            case .dead(let error): (.dead, nil, error)
            }
        try await write { database in
            try await database.raw("""
                UPDATE \(outbox.deliveries) SET state = \(bind: state.rawValue), last_error = \(bind: error),
                    next_attempt_at = COALESCE(\(bind: next?.epochMilliseconds), next_attempt_at)
                WHERE id = \(bind: id) AND attempts = \(bind: attempt) AND state = 'pending'
                """).run()
        }
    }

    /// Writes one delivery, due now, inside the caller's transaction.
    static func insertWebhookDelivery(
        _ outbox: WebhookOutbox, subscriptionId: String, eventType: String, payload: JSONValue, at now: Date, on database: any SQLDatabase
    ) async throws {
        try await database.raw("""
            INSERT INTO \(outbox.deliveries) (id, subscription_id, event_type, event, state, attempts, next_attempt_at, created_at)
            VALUES (\(bind: RandomIdentifier.uuid()), \(bind: subscriptionId), \(bind: eventType), \(bind: payload.serialized()),
                'pending', 0, \(bind: now.epochMilliseconds), \(bind: now.epochMilliseconds))
            """).run()
    }

    static func sealedKey(_ row: any SQLRow) throws -> SecretEnvelope {
        SecretEnvelope(ciphertext: try row.string("key_ciphertext"), wrappedKey: try row.string("key_wrapped"), kekId: try row.string("kek_id"))
    }

    static func webhookDelivery(_ row: any SQLRow) throws -> WebhookDelivery {
        let text = try row.string("event")
        guard let payload = try? JSONParser.parse(Array(text.utf8)) else {
            throw StoreError.unavailable("webhook delivery \(try row.string("id")) holds an unreadable payload")
        }
        return WebhookDelivery(
            id: try row.string("id"), subscriptionId: try row.string("subscription_id"), eventType: try row.string("event_type"), payload: payload,
            state: WebhookDelivery.State(rawValue: try row.string("state")) ?? .dead, attempts: Int(try row.int64("attempts")),
            nextAttemptAt: try row.date("next_attempt_at"), createdAt: try row.date("created_at"), lastAttemptAt: try row.optionalDate("last_attempt_at"),
            lastError: try row.optionalString("last_error"))
    }
}
