import Dispatch
import Logging
import PostgresKit
import Synchronization

/// PostgreSQL only: the directory generation, kept current by `LISTEN`/`NOTIFY` instead of a read
/// per request. Every transaction that changes the directory bumps the generation and notifies
/// `channel` with the new value; each replica listens on a connection of its own.
///
/// The feed answers only while it is known to be live: from the moment `LISTEN` took effect and
/// the generation was read after it, and for `confirmationLifetime` after the last sign of life
/// (a notification, or a heartbeat read every `heartbeatInterval`). A connection that closes makes
/// it stale at once; one that goes silent, once the lifetime passes (its unanswered read then
/// closes it). While it is stale, callers read the generation from the database
/// (`Store.directoryGeneration`); the feed reconnects by itself.
final class DirectoryGenerationFeed: Sendable {
    static let channel = "sigil_directory"
    /// How the feed's connection names itself in `pg_stat_activity`.
    static let applicationName = "sigil directory feed"
    static let heartbeatInterval: Duration = .seconds(1)
    static let confirmationLifetime: UInt64 = 3_000_000_000

    private struct State {
        var generation: Int64 = 0
        /// Monotonic nanoseconds of the last sign of life; nil while disconnected.
        var confirmedAt: UInt64?
        var task: Task<Void, Never>?
        /// The listening connection, so that `stop` can close it under a read that hangs.
        var connection: PostgresConnection?
        var stopped = false
    }

    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: PostgresConnection.Configuration, logger: Logger) {
        var configuration = configuration
        configuration.options.additionalStartupParameters.append(("application_name", Self.applicationName))
        self.configuration = configuration
        self.logger = logger
    }

    /// The generation, if the feed is live; nil when the caller must read it from the database.
    /// The first call starts the feed (a `sigil` command that never asks opens no connection for it).
    var current: Int64? {
        let now = DispatchTime.now().uptimeNanoseconds
        let (value, start) = state.withLock { state -> (Int64?, Bool) in
            let start = state.task == nil && !state.stopped
            if start { state.task = Task { [self] in await run() } }
            guard let confirmedAt = state.confirmedAt, now &- confirmedAt < Self.confirmationLifetime else { return (nil, start) }
            return (state.generation, start)
        }
        if start { logger.debug("directory change feed starting") }
        return value
    }

    /// Records a generation this process committed or read: it never goes back.
    func advance(to generation: Int64) {
        state.withLock { $0.generation = max($0.generation, generation) }
    }

    /// Stops listening and closes the connection (the store is closing).
    func stop() async {
        let (task, connection) = state.withLock { state in
            state.stopped = true
            state.confirmedAt = nil
            return (state.task, state.connection)
        }
        task?.cancel()
        try? await connection?.close()
        await task?.value
    }

    /// A sign of life: a notice or a heartbeat, after which the generation is at least
    /// `generation`; or, `restarting`, the read right after `LISTEN` took effect, taken as it is:
    /// after a restore or a fail-over the counter can be lower than before, and the old, higher
    /// value would keep caches of a directory that is gone.
    private func confirm(_ generation: Int64, restarting: Bool = false) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { state in
            state.generation = restarting ? generation : max(state.generation, generation)
            state.confirmedAt = now
        }
    }

    private func run() async {
        var wait: Duration = .milliseconds(100)
        var lost = false
        while !Task.isCancelled {
            do {
                let connection: PostgresConnection
                do {
                    connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                } catch {
                    throw StoreError.unavailable(PostgresProblem.describe(error, configuration))
                }
                state.withLock { $0.connection = connection }
                do {
                    try await connection.listen(on: Self.channel) { notifications in
                        // LISTEN is in effect: no later change is missed, so the value read now is current.
                        confirm(try await read(connection), restarting: true)
                        if lost { logger.notice("directory change feed listening again") }
                        lost = false
                        wait = .milliseconds(100)
                        try await follow(notifications, on: connection)
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
            } catch {
                if !Task.isCancelled, !lost {
                    let reason = StoreOutage.classify(error, place: PostgresProblem.place(configuration))?.description ?? "\(error)"
                    logger.warning("directory change feed lost (\(reason)); reading the generation per request until it reconnects")
                }
                lost = true
            }
            state.withLock { state in
                state.confirmedAt = nil
                state.connection = nil
            }
            try? await Task.sleep(for: wait)
            wait = min(wait * 2, .seconds(5))
        }
    }

    private struct Ended: Error, CustomStringConvertible {
        var description: String { "the listening connection closed" }
    }

    /// Confirms the feed with every notification and every heartbeat read, until either fails.
    private func follow(_ notifications: PostgresNotificationSequence, on connection: PostgresConnection) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await notification in notifications {
                    if let generation = Int64(notification.payload) { self.confirm(generation) }
                }
                throw Ended()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: Self.heartbeatInterval)
                    self.confirm(try await self.read(connection))
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// The generation, read on the feed's connection. A query written to a closed connection is
    /// never answered (see `OpenConnectionGuard`), and neither is one on a connection gone silent:
    /// a read not answered within `confirmationLifetime` closes the connection, which fails it,
    /// and the feed reconnects.
    private func read(_ connection: PostgresConnection) async throws -> Int64 {
        guard !connection.isClosed else { throw Ended() }
        let watchdog = Task {
            try await Task.sleep(for: .nanoseconds(Int64(Self.confirmationLifetime)))
            try? await connection.close()
        }
        defer { watchdog.cancel() }
        let rows = try await connection.query("SELECT value FROM directory_generation WHERE id = 1", logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        return 0
    }
}
