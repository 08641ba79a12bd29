import Dispatch
import Foundation
import Logging
import SQLKit

/// A small async pool of database connections, the same for SQLite and PostgreSQL.
///
/// A transaction must stay on one connection, so every unit of work borrows a connection for its
/// whole length (`withConnection`), and at most `maximum` are open at once.
///
/// An outage (see `StoreOutage`) reaches callers as `StoreError.unavailable`; the pool logs its
/// start and its end once each (the end after `outageQuietPeriod` without a failure, so a store
/// that reads but cannot write is one outage, not one per request), and keeps opening fresh
/// connections, so it recovers by itself.
actor ConnectionPool {
    struct Connection: Sendable {
        let database: any SQLDatabase
        let close: @Sendable () async -> Void
        /// False once the connection is known to be gone (the server closed it): it is dropped
        /// instead of lent, since a query on it would never complete.
        var isOpen: @Sendable () -> Bool = { true }
    }

    private let open: @Sendable () async throws -> Connection
    private let maximum: Int
    /// The outage an error amounts to, if any (`StoreOutage.classify` for this store).
    private let outage: @Sendable (any Error) -> StoreError?
    private let logger: Logger
    private var idle: [Connection] = []
    private var opened = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false
    /// When the outage under way began, and when it last failed a caller (monotonic nanoseconds).
    private var outageSince: UInt64?
    private var lastOutageFailure: UInt64 = 0
    static let outageQuietPeriod: UInt64 = 2_000_000_000

    init(
        maximum: Int, logger: Logger, outage: @escaping @Sendable (any Error) -> StoreError? = { _ in nil },
        open: @escaping @Sendable () async throws -> Connection
    ) {
        self.maximum = maximum
        self.logger = logger
        self.outage = outage
        self.open = open
    }

    /// Runs `body` on a borrowed connection. A connection whose work threw is closed rather than
    /// reused, so a broken connection never poisons the pool.
    nonisolated func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let connection: Connection
        do {
            connection = try await acquire()
        } catch {
            throw await failed(error)
        }
        do {
            let result = try await body(connection.database)
            await release(connection, healthy: true)
            return result
        } catch let error as StoreError where error.isDomainOutcome {
            await release(connection, healthy: true)
            throw error
        } catch {
            await release(connection, healthy: false)
            throw await failed(error)
        }
    }

    /// `error`, as `StoreError.unavailable` if it is an outage; logs the outage's start.
    private func failed(_ error: any Error) -> any Error {
        guard let unavailable = outage(error) else { return error }
        lastOutageFailure = DispatchTime.now().uptimeNanoseconds
        if outageSince == nil, !closed {
            outageSince = lastOutageFailure
            logger.error("store unavailable: \(unavailable); answering 503 with Retry-After until it is back")
        }
        return unavailable
    }

    private func acquire() async throws -> Connection {
        while true {
            if closed { throw StoreError.unavailable("the store is closed") }
            if let connection = idle.popLast() {
                if connection.isOpen() { return connection }
                opened -= 1
                await connection.close()
                continue
            }
            if opened < maximum {
                opened += 1
                do {
                    return try await open()
                } catch {
                    opened -= 1
                    wakeOne()
                    if let error = error as? StoreError { throw error }
                    throw StoreError.unavailable("cannot open a database connection: \(error)")
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func release(_ connection: Connection, healthy: Bool) async {
        let now = DispatchTime.now().uptimeNanoseconds
        if healthy, let since = outageSince, now - lastOutageFailure >= Self.outageQuietPeriod {
            outageSince = nil
            let seconds = Double(lastOutageFailure - since) / 1e9
            logger.notice("store available again: the outage lasted \(String(format: "%.1f", seconds)) s")
        }
        if healthy, !closed {
            idle.append(connection)
        } else {
            opened -= 1
            await connection.close()
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    func close() async {
        closed = true
        let connections = idle
        idle = []
        for connection in connections {
            opened -= 1
            await connection.close()
        }
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}
