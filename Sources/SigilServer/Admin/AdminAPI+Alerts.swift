import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// A tenant's alert webhooks (issue 12), their dead letters and redelivery. Deliveries share the
/// vault events' path: the same signature, retries and dead letters.
extension AdminAPI {
    var alertRoutes: [AdminRoute] {
        [
            AdminRoute(.post, "alerts/subscriptions", .alertsWrite, handler: createAlertSubscription),
            AdminRoute(.get, "alerts/subscriptions", .alertsRead) { _, _, caller in
                .json(["value": .array(try await store.alertSubscriptions(tenantId: caller.tenant.id).map(Self.alertSubscriptionJSON))])
            },
            AdminRoute(.get, "alerts/subscriptions/{id}", .alertsRead) { _, context, caller in
                .json(Self.alertSubscriptionJSON(try await alertSubscription(context, caller)))
            },
            AdminRoute(.delete, "alerts/subscriptions/{id}", .alertsWrite) { _, context, caller in
                let subscription = try await alertSubscription(context, caller)
                try await store.deleteAlertSubscription(tenantId: caller.tenant.id, id: subscription.id, audit: caller.audit(
                    "alertSubscription.delete", targetType: "alertSubscription", targetId: subscription.id, before: Self.alertSubscriptionJSON(subscription)))
                return Response(status: .noContent)
            },
            AdminRoute(.get, "alerts/subscriptions/{id}/deadLetters", .alertsRead) { _, context, caller in
                let subscription = try await alertSubscription(context, caller)
                let dead = try await store.webhookDeliveries(.alerts, subscriptionId: subscription.id, state: .dead, limit: Self.maximumDeadLettersShown)
                return .json(["value": .array(dead.map(Self.alertDeliveryJSON))])
            },
            AdminRoute(.post, "alerts/subscriptions/{id}/deadLetters/{delivery}/redeliver", .alertsWrite) { _, context, caller in
                let subscription = try await alertSubscription(context, caller)
                let deliveryId = try Self.pathParameter(context, "delivery")
                let delivery = try await store.redeliverWebhook(.alerts, subscriptionId: subscription.id, deliveryId: deliveryId, at: Date(), audit: caller.audit(
                    "alertSubscription.redeliver", targetType: "alertSubscription", targetId: subscription.id, after: ["delivery": .string(deliveryId)]))
                return .json(Self.alertDeliveryJSON(delivery))
            },
        ]
    }

    func createAlertSubscription(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(
            request, allowed: ["url", "kinds", "spikeApp", "spikeTenant", "spikeWindow", "expiringWithin", "allowPrivateNetwork"])
        let url = try body.requiredString("url")
        let allowPrivate = try body.bool("allowPrivateNetwork") ?? false
        try VaultEventRules.checkURL(url, allowPrivateNetwork: allowPrivate)
        let defaults = AlertRules.defaultSpike
        let subscription = AlertSubscription(
            id: Self.newId(), tenantId: caller.tenant.id, url: url,
            kinds: try AlertRules.kinds(try body.stringArray("kinds", maximum: AlertKind.allCases.count) ?? []),
            spike: SpikeThresholds(
                perApp: try Self.integer(body, "spikeApp", range: AlertRules.thresholds) ?? defaults.perApp,
                perTenant: try Self.integer(body, "spikeTenant", range: AlertRules.thresholds) ?? defaults.perTenant,
                window: try body.string("spikeWindow").map(AlertRules.window) ?? defaults.window),
            expiringWithin: try body.string("expiringWithin").map(AlertRules.expiringWithin) ?? AlertRules.defaultExpiringWithin,
            allowPrivateNetwork: allowPrivate, createdAt: Date())
        try await Self.checkReachable(url, allowPrivateNetwork: allowPrivate)
        let (key, sealed) = try signingKey(.alerts, subscriptionId: subscription.id)
        let json = Self.alertSubscriptionJSON(subscription)
        try await store.createAlertSubscription(
            StoredAlertSubscription(subscription: subscription, key: sealed),
            audit: caller.audit("alertSubscription.create", targetType: "alertSubscription", targetId: subscription.id, after: json))
        return Self.created(json, signingKey: key, location: "/admin/v1/alerts/subscriptions/\(subscription.id)")
    }

    func alertSubscription(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> AlertSubscription {
        let id = try Self.pathParameter(context, "id")
        guard let subscription = try await store.alertSubscription(tenantId: caller.tenant.id, id: id) else {
            throw AdminError.notFound("No alert subscription '\(OAuthError.quoted(id))' in this tenant; `sigil alert list` shows them.")
        }
        return subscription
    }

    /// A subscription as the API shows it; its signing key is shown once, by the creation alone.
    static func alertSubscriptionJSON(_ subscription: AlertSubscription) -> JSONValue {
        [
            "id": .string(subscription.id), "url": .string(subscription.url), "kinds": .array(subscription.kinds.sorted().map { .string($0.rawValue) }),
            "spikeApp": .integer(Int64(subscription.spike.perApp)), "spikeTenant": .integer(Int64(subscription.spike.perTenant)),
            "spikeWindow": .string(ISO8601Duration.text(subscription.spike.window)),
            "expiringWithin": .string(ISO8601Duration.text(subscription.expiringWithin)),
            "allowPrivateNetwork": .bool(subscription.allowPrivateNetwork), "createdDateTime": .date(subscription.createdAt),
        ]
    }

    static func alertDeliveryJSON(_ delivery: WebhookDelivery) -> JSONValue {
        [
            "id": .string(delivery.id), "alertId": delivery.payload.objectValue?["id"] ?? .null, "type": .string(delivery.eventType),
            "state": .string(delivery.state.rawValue), "attempts": .integer(Int64(delivery.attempts)), "createdDateTime": .date(delivery.createdAt),
            "lastAttemptDateTime": .date(delivery.lastAttemptAt), "lastError": .optional(delivery.lastError),
        ]
    }
}
