import Logging
import NIOCore
import PostgresNIO
import SQLKit

/// A PostgreSQL connection's SQL interface that refuses a statement once the connection has
/// closed. PostgresNIO writes a statement to a closed connection without asking to hear of the
/// failure, so the statement is never answered and its caller waits forever: seen when PostgreSQL
/// restarts between two statements of a transaction, which then stalled every token request
/// batched behind it. The check runs just before each statement; only a close that lands in the
/// microseconds between the check and the write is not caught.
struct OpenConnectionGuard: SQLDatabase {
    /// The connection itself, for the statements it prepares once (`PostgresSignInBatch`).
    let connection: PostgresConnection
    let database: any SQLDatabase
    let isOpen: @Sendable () -> Bool
    /// HOST:PORT, for the error.
    let place: String

    var logger: Logger { database.logger }
    var eventLoop: any EventLoop { database.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { database.version }
    var dialect: any SQLDialect { database.dialect }
    var queryLogLevel: Logger.Level? { database.queryLogLevel }

    private var closed: StoreError { .unavailable("lost the connection to PostgreSQL at \(place); reconnecting") }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        guard isOpen() else { return eventLoop.makeFailedFuture(closed) }
        return database.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        guard isOpen() else { throw closed }
        try await database.execute(sql: query, onRow)
    }

    /// Runs a statement PostgreSQL keeps prepared on this connection; returns its rows.
    func execute<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row] {
        guard isOpen() else { throw closed }
        var rows: [Statement.Row] = []
        for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
        return rows
    }
}
