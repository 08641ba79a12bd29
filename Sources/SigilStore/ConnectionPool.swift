/// A small async pool of database connections, the same for SQLite and PostgreSQL: SQLKit's
/// (`any SQLDatabase`), or SQLite's batch connection (`SQLiteBatchConnection`).
///
/// A transaction must stay on one connection, so every unit of work borrows a connection for its
/// whole length (`withConnection`), and at most `maximum` are open at once.
///
/// An outage (see `StoreOutage`) reaches callers as `StoreError.unavailable`, logged once in the
/// store's `OutageLog`; the pool keeps opening fresh connections, so it recovers by itself.
actor ConnectionPool<Database: Sendable> {
    struct Connection: Sendable {
        let database: Database
        let close: @Sendable () async -> Void
        /// False once the connection is known to be gone (the server closed it): it is dropped
        /// instead of lent, since a query on it would never complete.
        var isOpen: @Sendable () -> Bool = { true }
    }

    private let open: @Sendable () async throws -> Connection
    private let maximum: Int
    private let outages: OutageLog
    private var idle: [Connection] = []
    private var opened = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    init(maximum: Int, outages: OutageLog, open: @escaping @Sendable () async throws -> Connection) {
        self.maximum = maximum
        self.outages = outages
        self.open = open
    }

    /// Runs `body` on a borrowed connection. A connection whose work threw is closed rather than
    /// reused, so a broken connection never poisons the pool.
    nonisolated func withConnection<T: Sendable>(_ body: (Database) async throws -> T) async throws -> T {
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
        } catch let error as any HarmlessToConnection where error.leavesConnectionWorking {
            await release(connection, healthy: true)
            throw error
        } catch {
            await release(connection, healthy: false)
            throw await failed(error)
        }
    }

    private func failed(_ error: any Error) -> any Error { outages.failed(error, closing: closed) }

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
        if healthy { outages.succeeded() }
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

/// An error a unit of work throws that says nothing about the connection it ran on: the pool
/// keeps the connection.
protocol HarmlessToConnection: Error {
    var leavesConnectionWorking: Bool { get }
}

extension HarmlessToConnection {
    var leavesConnectionWorking: Bool { true }
}
