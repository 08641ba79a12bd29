import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore

/// The sign-in log's background work: every minute, the summaries of sampled unknown-client
/// failures; every hour (and at start), deleting sign-ins older than the retention period, a
/// batch at a time so token requests keep getting the writer in between.
public struct SignInMaintenance: Service {
    let store: Store
    let retention: TimeInterval
    let unknownClients: UnknownClientFailures
    let logger: Logger
    static let batch = 1000
    static let flushInterval: Duration = .seconds(60)
    static let sweepsPerHour = 60

    /// The shortest retention allowed: single-use assertion ids live on sign-in rows, and an
    /// assertion is accepted for at most `maximumLifetime` plus skew, so a day keeps every id
    /// until long after its assertion has expired.
    public static let minimumRetention: TimeInterval = 86_400

    public func run() async throws {
        var tick = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if tick % Self.sweepsPerHour == 0 { await sweep() }
            tick += 1
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.flushInterval) }
            } catch {
                return
            }
            await unknownClients.flush()
        }
    }

    /// Deletes every sign-in older than the retention period; returns how many.
    @discardableResult
    func sweep(now: Date = Date()) async -> Int {
        let cutoff = now.addingTimeInterval(-max(retention, Self.minimumRetention))
        var deleted = 0
        do {
            while !Task.isShuttingDownGracefully {
                let count = try await store.deleteSignIns(before: cutoff, limit: Self.batch)
                deleted += count
                if count < Self.batch { break }
                await Task.yield()
            }
        } catch {
            logger.error("sign-in retention: \(error)")
        }
        if deleted > 0 { logger.info("sign-in retention: deleted \(deleted) sign-ins recorded before \(cutoff.formatted(.iso8601))") }
        return deleted
    }
}
