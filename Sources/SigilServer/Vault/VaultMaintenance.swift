import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore

/// The vault's background work: at start and every interval, purging the deleted secrets whose
/// retention has ended, a batch per transaction, each purge audited as Sigil's own. The state is
/// the store's `scheduled_purge_at`: a purge missed while the server was down happens at the next start.
public struct VaultMaintenance: Service {
    let store: Store
    let interval: Duration
    let logger: Logger
    static let batch = 200
    /// The shortest `--vault-purge-interval`: each pass is one indexed query when nothing is due.
    public static let minimumInterval: Duration = .seconds(1)

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await purgeDue()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: max(interval, Self.minimumInterval)) }
            } catch {
                return
            }
        }
    }

    /// Purges every deleted secret due by `now`; returns how many.
    @discardableResult
    func purgeDue(now: Date = Date()) async -> Int {
        var purged = 0
        do {
            while !Task.isShuttingDownGracefully {
                let count = try await store.purgeDueSecrets(now: now, limit: Self.batch) { vault, name in
                    AuditEvent(
                        time: Date(), tenantId: vault.tenantId, actorId: "sigil", actorName: "sigil", action: "vault.secret.purge",
                        targetType: "vaultSecret", targetId: "\(vault.name)/\(name)",
                        after: ["vault": .string(vault.name), "secret": .string(name), "reason": "retention ended"], ipAddress: "local",
                        correlationId: RandomIdentifier.uuid())
                }
                purged += count
                if count < Self.batch { break }
                await Task.yield()
            }
        } catch {
            logger.error("vault purge: \(error)")
        }
        if purged > 0 { logger.info("vault purge: purged \(purged) deleted secrets whose retention had ended") }
        return purged
    }
}
