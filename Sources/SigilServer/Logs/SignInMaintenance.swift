import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore

/// The sign-in log's background work: every minute, the summaries of sampled unknown-client
/// failures; every hour (and at start), the retention sweep. On PostgreSQL the sweep creates the
/// day partitions of the next days and drops those whose day ended before the retention period;
/// on both it deletes old rows the partitions do not hold (all of them on SQLite) and forgets
/// single-use assertion ids a day old, a batch at a time so token requests keep getting the
/// writer in between.
public struct SignInMaintenance: Service {
    let store: Store
    let retention: TimeInterval
    let unknownClients: UnknownClientFailures
    let logger: Logger
    static let batch = 1000
    static let flushInterval: Duration = .seconds(60)
    static let sweepsPerHour = 60
    /// Day partitions are made this many days ahead of today, so a sweep that fails for a day
    /// still leaves tomorrow's in place.
    static let partitionDaysAhead = 2

    /// The shortest retention allowed: a day, the unit PostgreSQL's partitions drop by.
    public static let minimumRetention: TimeInterval = 86_400

    /// How long a single-use assertion id is remembered: an assertion is accepted for at most
    /// 60 minutes plus 5 minutes of skew, so a day refuses every replay, even across a clock step.
    static let assertionMemory: TimeInterval = 86_400

    /// What one sweep did.
    struct Sweep: Equatable {
        var createdPartitions: [String] = []
        var droppedPartitions: [String] = []
        var deletedSignIns = 0
        var forgottenAssertions = 0
    }

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

    /// Applies retention as of `now`.
    @discardableResult
    func sweep(now: Date = Date()) async -> Sweep {
        let cutoff = now.addingTimeInterval(-max(retention, Self.minimumRetention))
        var sweep = Sweep()
        do {
            sweep.createdPartitions = try await store.prepareSignInPartitions(now: now, daysAhead: Self.partitionDaysAhead)
            sweep.droppedPartitions = try await store.dropSignInPartitions(endedBy: cutoff)
            sweep.deletedSignIns = try await inBatches { try await store.deleteSignIns(before: cutoff, limit: $0) }
            sweep.forgottenAssertions = try await inBatches {
                try await store.deleteSingleUseAssertions(usedBefore: now.addingTimeInterval(-Self.assertionMemory), limit: $0)
            }
        } catch {
            logger.error("sign-in retention: \(error)")
        }
        if !sweep.createdPartitions.isEmpty { logger.info("sign-in log: created partitions \(sweep.createdPartitions.joined(separator: ", "))") }
        let cut = cutoff.formatted(.iso8601)
        if !sweep.droppedPartitions.isEmpty {
            logger.info("sign-in retention: dropped partitions \(sweep.droppedPartitions.joined(separator: ", ")), whose days ended before \(cut)")
        }
        if sweep.deletedSignIns > 0 { logger.info("sign-in retention: deleted \(sweep.deletedSignIns) sign-ins recorded before \(cut)") }
        return sweep
    }

    /// Runs `delete` with the batch size until it deletes less than a batch; returns the total.
    private func inBatches(_ delete: (Int) async throws -> Int) async throws -> Int {
        var total = 0
        while !Task.isShuttingDownGracefully {
            let count = try await delete(Self.batch)
            total += count
            if count < Self.batch { break }
            await Task.yield()
        }
        return total
    }
}
