import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore

/// How webhooks are delivered, vault events and alerts alike (`sigil serve --vault-event-*`).
public struct VaultEventSettings: Sendable {
    /// How often the outboxes are looked at for due deliveries.
    public var pollInterval: Duration = .seconds(2)
    /// How often current versions are scanned for near expiry and expiry.
    public var scanInterval: TimeInterval = 60
    /// The wait after the first failed attempt; it doubles with each further one.
    public var retryBase: TimeInterval = 10
    /// The longest wait between two attempts.
    public var retryMaximum: TimeInterval = 3600
    /// After this many failed attempts a delivery is dead-lettered…
    public var maximumAttempts = 10
    /// …or once it is this old, whichever comes first.
    public var maximumAge: TimeInterval = 86_400

    public init() {}
}

/// How alerts are found (`sigil serve --alert-scan`).
public struct AlertSettings: Sendable {
    /// How often sign-in spikes and expiring credentials are looked for.
    public var scanInterval: TimeInterval = 60

    public init() {}
}

/// Delivers webhooks from both outboxes (vault events, issue 11; alerts, issue 12): each due
/// delivery is claimed in the store for one attempt, POSTed signed with its subscription's HMAC
/// key, and its outcome recorded: delivered, retried later with exponential backoff and jitter,
/// or dead-lettered. Every state is in the store, so a restart resumes where the last process
/// stopped; an attempt cut short by a crash is retried when its claim lapses. Also runs the scans
/// that write events and alerts nobody's request causes: vault secrets nearing or past their
/// expiry, sign-in spikes, credentials expiring soon.
struct WebhookDeliveryService: Service {
    let store: Store
    let kek: KeyEncryptionKeys
    let fetcher: BoundedFetcher
    let settings: VaultEventSettings
    let alerts: AlertSettings
    /// The base URL of a vault, by name, as events name it.
    let vaultURL: @Sendable (String) -> String
    let logger: Logger
    static let batch = 16

    /// How long a claimed attempt may take before another may start: the fetch deadline and a margin.
    var lease: TimeInterval { Double(fetcher.limits.totalTimeout.components.seconds) + 2 }

    func run() async throws {
        var lastScan = Date.distantPast
        var lastAlertScan = Date.distantPast
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = Date()
            // A scan or an attempt in flight at shutdown is abandoned, as a crash would abandon it:
            // a scan's transaction rolls back and runs again at the next start, an attempt's claim
            // lapses and the next process retries it.
            if now.hasElapsed(settings.scanInterval, since: lastScan) {
                await cancelWhenGracefulShutdown { await scan(now: now) }
                lastScan = now
            }
            if now.hasElapsed(alerts.scanInterval, since: lastAlertScan) {
                await cancelWhenGracefulShutdown { await scanAlerts(now: now) }
                lastAlertScan = now
            }
            await cancelWhenGracefulShutdown {
                for outbox in WebhookOutbox.allCases { await deliverDue(outbox) }
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.pollInterval) }
            } catch {
                return
            }
        }
    }

    /// Writes the near-expiry and expiry events that are due, a batch at a time.
    func scan(now: Date) async {
        do {
            while try await store.announceExpiringSecrets(now: now, limit: 500) == 500, !Task.isShuttingDownGracefully {}
        } catch {
            if !Task.isCancelled { logger.error("vault events: scanning for expiring secrets failed: \(error)") }
        }
    }

    /// Writes the spike and credential-expiry alerts that are due.
    func scanAlerts(now: Date) async {
        do {
            try await store.announceSignInSpikes(now: now)
            while try await store.announceExpiringCredentials(now: now, limit: 500) == 500, !Task.isShuttingDownGracefully {}
        } catch {
            if !Task.isCancelled { logger.error("alerts: scanning for sign-in spikes and expiring credentials failed: \(error)") }
        }
    }

    /// Makes one attempt at every due delivery of `outbox`, a batch at a time, the batch's attempts at once.
    func deliverDue(_ outbox: WebhookOutbox) async {
        while !Task.isCancelled {
            let claimed: [(WebhookDelivery, WebhookTarget)]
            do {
                claimed = try await store.claimDueWebhooks(outbox, now: Date(), lease: lease, limit: Self.batch)
            } catch {
                if !Task.isCancelled { logger.error("\(outbox.rawValue): cannot read the outbox: \(error)") }
                return
            }
            await withTaskGroup(of: Void.self) { group in
                for (delivery, target) in claimed { group.addTask { await attempt(outbox, delivery, target) } }
            }
            if claimed.count < Self.batch { return }
        }
    }

    /// The body and headers of one attempt (the signature apart): vault events as Event Grid
    /// posts them, alerts as their JSON object.
    func request(_ outbox: WebhookOutbox, _ delivery: WebhookDelivery) throws -> (body: [UInt8], headers: [(String, String)]) {
        switch outbox {
        case .vaultEvents:
            let event = try VaultEventDelivery(delivery).event
            return (Array(event.body(vaultURL: vaultURL(event.vaultName)).utf8), [
                ("Content-Type", "application/json; charset=utf-8"), ("aeg-event-type", "Notification"),
                ("aeg-subscription-name", delivery.subscriptionId.uppercased()), ("aeg-delivery-count", String(delivery.attempts - 1)),
                ("aeg-data-version", "1"), ("aeg-metadata-version", "1"),
            ])
        case .alerts:
            return (Array(delivery.payload.serialized().utf8), [
                ("Content-Type", "application/json; charset=utf-8"), (AlertRules.typeHeader, delivery.eventType),
                (AlertRules.deliveryCountHeader, String(delivery.attempts - 1)),
            ])
        }
    }

    func attempt(_ outbox: WebhookOutbox, _ delivery: WebhookDelivery, _ target: WebhookTarget) async {
        let failure: String
        do {
            let key = try kek.ring.open(target.key, context: outbox.keyContext(subscriptionId: target.subscriptionId))
            let (body, headers) = try request(outbox, delivery)
            let signature = VaultEventRules.signature(body: body, timestamp: Int64(Date().timeIntervalSince1970), key: key)
            let status = try await fetcher.post(
                target.url, body: body, headers: headers + [(VaultEventRules.signatureHeader, signature)], allowingPrivate: target.allowPrivateNetwork)
            if (200..<300).contains(Int(status)) { return await record(outbox, delivery, .delivered) }
            if VaultEventRules.isFinal(status: Int(status)) {
                return await record(outbox, delivery, .dead(error: "HTTP \(status): the receiver refused the event"))
            }
            failure = "HTTP \(status)"
        } catch let error as KeyEncryptionKey.Failure {
            return await record(outbox, delivery, .dead(error: "the subscription's signing key does not open: \(error)"))
        } catch {
            // Shutting down mid-attempt: leave the claim to lapse, as a crash would.
            if Task.isCancelled { return }
            failure = "\(error)"
        }
        let now = Date()
        if delivery.attempts >= settings.maximumAttempts || now.timeIntervalSince(delivery.createdAt) >= settings.maximumAge {
            logger.warning("\(outbox.rawValue): \(delivery.eventType) \(delivery.id) to subscription \(target.subscriptionId) is dead-lettered after \(delivery.attempts) attempts: \(failure)")
            return await record(outbox, delivery, .dead(error: failure))
        }
        let delay = VaultEventRules.retryDelay(
            afterAttempt: delivery.attempts, base: settings.retryBase, maximum: settings.retryMaximum, jitter: Double.random(in: 0..<1))
        await record(outbox, delivery, .retry(at: now.addingTimeInterval(delay), error: failure))
    }

    func record(_ outbox: WebhookOutbox, _ delivery: WebhookDelivery, _ outcome: WebhookOutcome) async {
        do {
            try await store.finishWebhookDelivery(outbox, id: delivery.id, attempt: delivery.attempts, outcome: outcome)
        } catch {
            logger.error("\(outbox.rawValue): cannot record delivery \(delivery.id): \(error)")
        }
    }
}
