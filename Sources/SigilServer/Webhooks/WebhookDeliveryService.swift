import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore

/// How vault events are delivered (`sigil serve --vault-event-*`).
public struct VaultEventSettings: Sendable {
    /// How often the outbox is looked at for due deliveries.
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

/// Delivers vault events from the outbox to their webhooks (issue 11): each due delivery is
/// claimed in the store for one attempt, POSTed as Event Grid would post it, signed with the
/// subscription's HMAC key, and its outcome recorded: delivered, retried later with exponential
/// backoff and jitter, or dead-lettered. Every state is in the store, so a restart resumes where
/// the last process stopped; an attempt cut short by a crash is retried when its claim lapses.
/// Also scans for versions nearing or past their expiry, which writes those events.
struct VaultEventDeliveryService: Service {
    let store: Store
    let kek: KeyEncryptionKeys
    let fetcher: BoundedFetcher
    let settings: VaultEventSettings
    /// The base URL of a vault, by name, as events name it.
    let vaultURL: @Sendable (String) -> String
    let logger: Logger
    static let batch = 16

    /// How long a claimed attempt may take before another may start: the fetch deadline and a margin.
    var lease: TimeInterval { Double(fetcher.limits.totalTimeout.components.seconds) + 2 }

    func run() async throws {
        var lastScan = Date.distantPast
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = Date()
            if now.timeIntervalSince(lastScan) >= settings.scanInterval {
                await scan(now: now)
                lastScan = now
            }
            // An attempt in flight at shutdown is abandoned, as a crash would abandon it: its claim
            // lapses and the next process retries it.
            await cancelWhenGracefulShutdown { await deliverDue() }
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
            logger.error("vault events: scanning for expiring secrets failed: \(error)")
        }
    }

    /// Makes one attempt at every due delivery, a batch at a time, the batch's attempts at once.
    func deliverDue() async {
        while !Task.isCancelled {
            let claimed: [(VaultEventDelivery, StoredVaultEventSubscription)]
            do {
                claimed = try await store.claimDueVaultEvents(now: Date(), lease: lease, limit: Self.batch)
            } catch {
                if !Task.isCancelled { logger.error("vault events: cannot read the outbox: \(error)") }
                return
            }
            await withTaskGroup(of: Void.self) { group in
                for (delivery, subscription) in claimed { group.addTask { await attempt(delivery, subscription) } }
            }
            if claimed.count < Self.batch { return }
        }
    }

    func attempt(_ delivery: VaultEventDelivery, _ stored: StoredVaultEventSubscription) async {
        let subscription = stored.subscription
        let failure: String
        do {
            let key = try kek.ring.open(stored.key, context: stored.context)
            let body = Array(delivery.event.body(vaultURL: vaultURL(delivery.event.vaultName)).utf8)
            let signature = VaultEventRules.signature(body: body, timestamp: Int64(Date().timeIntervalSince1970), key: key)
            let status = try await fetcher.post(subscription.url, body: body, headers: [
                ("Content-Type", "application/json; charset=utf-8"), ("aeg-event-type", "Notification"),
                ("aeg-subscription-name", subscription.id.uppercased()), ("aeg-delivery-count", String(delivery.attempts - 1)),
                ("aeg-data-version", "1"), ("aeg-metadata-version", "1"), (VaultEventRules.signatureHeader, signature),
            ], allowingPrivate: subscription.allowPrivateNetwork)
            if (200..<300).contains(Int(status)) { return await record(delivery, .delivered) }
            if VaultEventRules.isFinal(status: Int(status)) {
                return await record(delivery, .dead(error: "HTTP \(status): the receiver refused the event"))
            }
            failure = "HTTP \(status)"
        } catch let error as KeyEncryptionKey.Failure {
            return await record(delivery, .dead(error: "the subscription's signing key does not open: \(error)"))
        } catch {
            // Shutting down mid-attempt: leave the claim to lapse, as a crash would.
            if Task.isCancelled { return }
            failure = "\(error)"
        }
        let now = Date()
        if delivery.attempts >= settings.maximumAttempts || now.timeIntervalSince(delivery.createdAt) >= settings.maximumAge {
            logger.warning("vault events: \(delivery.event.type.rawValue) for \(delivery.event.vaultName)/\(delivery.event.secretName) to subscription \(subscription.id) is dead-lettered after \(delivery.attempts) attempts: \(failure)")
            return await record(delivery, .dead(error: failure))
        }
        let delay = VaultEventRules.retryDelay(
            afterAttempt: delivery.attempts, base: settings.retryBase, maximum: settings.retryMaximum, jitter: Double.random(in: 0..<1))
        await record(delivery, .retry(at: now.addingTimeInterval(delay), error: failure))
    }

    func record(_ delivery: VaultEventDelivery, _ outcome: VaultEventOutcome) async {
        do {
            try await store.finishVaultEventDelivery(id: delivery.id, attempt: delivery.attempts, outcome: outcome)
        } catch {
            logger.error("vault events: cannot record delivery \(delivery.id): \(error)")
        }
    }
}
