import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore

/// What happens when a retention period ends, at start and every interval: deleted vault secrets
/// are purged, a batch per transaction, and the client secrets a finished migration disabled are
/// deleted, a migration per transaction; each audited as Sigil's own. The state is in the store
/// (`scheduled_purge_at`, `delete_after`): what was due while the server was down happens at the
/// next start.
public struct RetentionMaintenance: Service {
    let store: Store
    let interval: Duration
    let logger: Logger
    static let batch = 200
    /// The shortest `--vault-purge-interval`: each pass is one indexed query when nothing is due.
    public static let minimumInterval: Duration = .seconds(1)

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await purgeDue()
            await deleteMigratedSecrets()
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

    /// Deletes the disabled secrets of every finished migration whose retention ended by `now`;
    /// returns how many migrations.
    @discardableResult
    func deleteMigratedSecrets(now: Date = Date()) async -> Int {
        do {
            let due = try await store.migrationsDueForDeletion(now: now, limit: Self.batch)
            for migration in due {
                try await store.deleteMigratedSecrets(migration, now: now, audit: AuditEvent(
                    time: Date(), tenantId: migration.tenantId, actorId: "sigil", actorName: "sigil", action: "application.migration.deleteSecrets",
                    targetType: "application", targetId: migration.applicationId,
                    after: ["keyIds": .array(migration.secretKeyIds.map(JSONValue.string)), "reason": "retention ended"], ipAddress: "local",
                    correlationId: RandomIdentifier.uuid()))
            }
            if !due.isEmpty { logger.info("migrations: deleted the disabled secrets of \(due.count) finished migrations whose retention had ended") }
            return due.count
        } catch {
            logger.error("migrations: deleting disabled secrets: \(error)")
            return 0
        }
    }
}
