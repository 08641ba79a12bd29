import Foundation
import Hummingbird
import NIOCore
import SigilCore
import SigilStore

/// A vault's event subscriptions (Event Grid-shaped webhooks), their dead letters and redelivery.
extension AdminAPI {
    var vaultEventRoutes: [AdminRoute] {
        [
            AdminRoute(.post, "vaults/{vault}/eventSubscriptions", .vaultsWrite, handler: createEventSubscription),
            AdminRoute(.get, "vaults/{vault}/eventSubscriptions", .vaultsRead) { _, context, caller in
                let vault = try await vault(try Self.pathParameter(context, "vault"), caller)
                return .json(["value": .array(try await store.vaultEventSubscriptions(vaultId: vault.id).map { Self.eventSubscriptionJSON($0.subscription, vault: vault) })])
            },
            AdminRoute(.get, "vaults/{vault}/eventSubscriptions/{id}", .vaultsRead) { _, context, caller in
                let (vault, subscription) = try await eventSubscription(context, caller)
                return .json(Self.eventSubscriptionJSON(subscription, vault: vault))
            },
            AdminRoute(.delete, "vaults/{vault}/eventSubscriptions/{id}", .vaultsWrite) { _, context, caller in
                let (vault, subscription) = try await eventSubscription(context, caller)
                try await store.deleteVaultEventSubscription(vaultId: vault.id, id: subscription.id, audit: caller.audit(
                    "vaultEventSubscription.delete", targetType: "vaultEventSubscription", targetId: subscription.id,
                    before: Self.eventSubscriptionJSON(subscription, vault: vault)))
                return Response(status: .noContent)
            },
            AdminRoute(.get, "vaults/{vault}/eventSubscriptions/{id}/deadLetters", .vaultsRead) { _, context, caller in
                let (_, subscription) = try await eventSubscription(context, caller)
                let dead = try await store.vaultEventDeliveries(subscriptionId: subscription.id, state: .dead, limit: Self.maximumDeadLettersShown)
                return .json(["value": .array(dead.map(Self.deliveryJSON))])
            },
            AdminRoute(.post, "vaults/{vault}/eventSubscriptions/{id}/deadLetters/{delivery}/redeliver", .vaultsWrite) { _, context, caller in
                let (_, subscription) = try await eventSubscription(context, caller)
                let deliveryId = try Self.pathParameter(context, "delivery")
                let delivery = try await store.redeliverWebhook(.vaultEvents, subscriptionId: subscription.id, deliveryId: deliveryId, at: Date(), audit: caller.audit(
                    "vaultEventSubscription.redeliver", targetType: "vaultEventSubscription", targetId: subscription.id,
                    after: ["delivery": .string(deliveryId)]))
                return .json(Self.deliveryJSON(try VaultEventDelivery(delivery)))
            },
        ]
    }

    /// The newest dead letters a listing shows.
    static let maximumDeadLettersShown = 200

    func createEventSubscription(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let vault = try await vault(try Self.pathParameter(context, "vault"), caller)
        let body = try await body(request, allowed: ["url", "secretName", "nearExpiry", "allowPrivateNetwork"])
        let url = try body.requiredString("url")
        let allowPrivate = try body.bool("allowPrivateNetwork") ?? false
        try VaultEventRules.checkURL(url, allowPrivateNetwork: allowPrivate)
        let subscription = VaultEventSubscription(
            id: Self.newId(), vaultId: vault.id, url: url, filter: try body.string("secretName").map { try VaultEventFilter($0) },
            nearExpiryLead: try body.string("nearExpiry").map(VaultEventRules.nearExpiryLead) ?? VaultEventRules.defaultNearExpiryLead,
            allowPrivateNetwork: allowPrivate, createdAt: Date())
        try await Self.checkReachable(url, allowPrivateNetwork: allowPrivate)
        let (key, sealed) = try signingKey(.vaultEvents, subscriptionId: subscription.id)
        let json = Self.eventSubscriptionJSON(subscription, vault: vault)
        try await store.createVaultEventSubscription(
            StoredVaultEventSubscription(subscription: subscription, key: sealed),
            audit: caller.audit("vaultEventSubscription.create", targetType: "vaultEventSubscription", targetId: subscription.id, after: json))
        return Self.created(json, signingKey: key, location: "/admin/v1/vaults/\(vault.name)/eventSubscriptions/\(subscription.id)")
    }

    /// A new webhook subscription's signing key, and the key sealed for the store. It has the
    /// Sigil secret format, so a leaked one is recognisable by `sigil scan`.
    func signingKey(_ outbox: WebhookOutbox, subscriptionId: String) throws -> (key: String, sealed: SecretEnvelope) {
        let key = SigilSecretFormat.generate(.clientSecret)
        return (key, try kek.ring.seal(key, context: outbox.keyContext(subscriptionId: subscriptionId)))
    }

    /// A created webhook subscription as answered: its JSON with the signing key, shown this once.
    static func created(_ json: JSONValue, signingKey key: String, location: String) -> Response {
        guard case .object(var object) = json else { return .json(json) }
        object["secret"] = .string(key)
        return .json(.object(object), status: .created, headers: [.location: location])
    }

    /// Refuses, when the subscription is created, a webhook that no delivery could reach: a name
    /// that does not resolve, or a non-public address without `allowPrivateNetwork`. Deliveries
    /// check the address again each time, so a name that later resolves elsewhere is caught then.
    static func checkReachable(_ url: String, allowPrivateNetwork: Bool) async throws {
        do {
            let target = try BoundedFetcher.target(url, allowingHTTP: allowPrivateNetwork)
            _ = try await BoundedFetcher.resolve(
                target, allowingPrivate: allowPrivateNetwork, deadline: .now() + .seconds(5), refusal: BoundedFetcher.webhookRefusal)
        } catch {
            throw AdminError.badRequest("url: \(error.description).", target: "url")
        }
    }

    func eventSubscription(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> (Vault, VaultEventSubscription) {
        let vault = try await vault(try Self.pathParameter(context, "vault"), caller)
        let id = try Self.pathParameter(context, "id")
        guard let stored = try await store.vaultEventSubscription(vaultId: vault.id, id: id) else {
            throw AdminError.notFound("No event subscription '\(OAuthError.quoted(id))' on vault '\(vault.name)'; `sigil vault events list \(vault.name)` shows them.")
        }
        return (vault, stored.subscription)
    }

    /// A subscription as the API shows it; its signing key is shown once, by the creation alone.
    static func eventSubscriptionJSON(_ subscription: VaultEventSubscription, vault: Vault) -> JSONValue {
        [
            "id": .string(subscription.id), "vault": .string(vault.name), "url": .string(subscription.url),
            "secretName": .optional(subscription.filter?.pattern), "nearExpiry": .string(ISO8601Duration.text(subscription.nearExpiryLead)),
            "allowPrivateNetwork": .bool(subscription.allowPrivateNetwork), "eventTypes": .array(VaultEventType.allCases.map { .string($0.rawValue) }),
            "createdDateTime": .date(subscription.createdAt),
        ]
    }

    static func deliveryJSON(_ delivery: VaultEventDelivery) -> JSONValue {
        [
            "id": .string(delivery.id), "eventId": .string(delivery.event.id), "eventType": .string(delivery.event.type.rawValue),
            "subject": .string(delivery.event.secretName), "version": .string(delivery.event.version), "state": .string(delivery.state.rawValue),
            "attempts": .integer(Int64(delivery.attempts)), "createdDateTime": .date(delivery.createdAt),
            "lastAttemptDateTime": .date(delivery.lastAttemptAt), "lastError": .optional(delivery.lastError),
        ]
    }
}
