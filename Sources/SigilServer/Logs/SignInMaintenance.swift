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

    /// Applies retention as of `now`. Each step goes on when another fails; what failed is
    /// logged and tried again at the next sweep.
    @discardableResult
    func sweep(now: Date = Date()) async -> Sweep {
        let cutoff = now.addingTimeInterval(-max(retention, Self.minimumRetention))
        let cut = cutoff.formatted(.iso8601)
        var sweep = Sweep()
        sweep.createdPartitions = await Self.preparePartitions(store: store, now: now, logger: logger)
        await step("dropping partitions") {
            let result = try await store.dropSignInPartitions(endedBy: cutoff)
            sweep.droppedPartitions = result.dropped
            for (name, problem) in result.failed.sorted(by: { $0.key < $1.key }) {
                logger.warning("sign-in retention: cannot drop partition \(name) (tried again in an hour): \(problem)")
            }
        }
        await step("deleting sign-ins") { sweep.deletedSignIns = try await inBatches { try await store.deleteSignIns(before: cutoff, limit: $0) } }
        await step("forgetting assertion ids") {
            sweep.forgottenAssertions = try await inBatches {
                try await store.deleteSingleUseAssertions(usedBefore: now.addingTimeInterval(-Self.assertionMemory), limit: $0)
            }
        }
        if !sweep.createdPartitions.isEmpty { logger.info("sign-in log: created partitions \(sweep.createdPartitions.joined(separator: ", "))") }
        if !sweep.droppedPartitions.isEmpty {
            logger.info("sign-in retention: dropped partitions \(sweep.droppedPartitions.joined(separator: ", ")), whose days ended before \(cut)")
        }
        if sweep.deletedSignIns > 0 { logger.info("sign-in retention: deleted \(sweep.deletedSignIns) sign-ins recorded before \(cut)") }
        return sweep
    }

    /// Makes the day partitions of `now` and the next `partitionDaysAhead` days (PostgreSQL): at
    /// start, before the first sign-in is written, and at every sweep. Returns those it created.
    static func preparePartitions(store: Store, now: Date, logger: Logger) async -> [String] {
        let prepared = await store.prepareSignInPartitions(now: now, daysAhead: partitionDaysAhead)
        for (name, problem) in prepared.failed.sorted(by: { $0.key < $1.key }) {
            logger.warning("sign-in log: cannot create partition \(name) (tried again in an hour): \(problem)")
        }
        return prepared.created
    }

    /// Runs one step of a sweep, logging its failure.
    private func step(_ name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.error("sign-in retention: \(name): \(error)")
        }
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
