import Foundation
import NIOCore
import NIOPosix
import PostgresKit

/// Why a PostgreSQL connection could not be opened, in one line that says what to fix. Only the
/// host, port, user and database are named: never the password, and never PostgresNIO's
/// "generic description".
enum PostgresProblem {
    static func describe(_ error: any Error, _ configuration: PostgresConnection.Configuration) -> String {
        let user = configuration.username
        let database = configuration.database ?? user
        let place = place(configuration)
        guard let error = error as? PSQLError else { return "PostgreSQL at \(place): \(reason(error))" }
        if let info = error.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = info[.message] ?? "an error"
            switch state {
            case "28P01", "28000":
                return "PostgreSQL at \(place) refused user '\(user)': \(message); check the user and password in --database"
            case "3D000":
                return "PostgreSQL at \(place) has no database '\(database)'; create it (createdb \(database)) or fix the name in --database"
            case "57P03":
                return "PostgreSQL at \(place) is starting up or shutting down; try again in a moment"
            default:
                return "PostgreSQL at \(place) refused the connection: \(message) (SQLSTATE \(state))"
            }
        }
        if let underlying = error.underlying {
            return "cannot reach PostgreSQL at \(place): \(reason(underlying)); is it running, and do the host and port in --database name it?"
        }
        return "cannot connect to PostgreSQL at \(place) (\(error.code)); check --database"
    }

    /// HOST:PORT of the server, as messages name it.
    static func place(_ configuration: PostgresConnection.Configuration) -> String {
        configuration.host.map { "\($0):\(configuration.port ?? 5432)" } ?? "the configured PostgreSQL server"
    }

    /// The operating system's words for a socket error, without NIO's wrapping.
    private static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let failure = error as? NIOConnectionError, let first = failure.connectionErrors.first {
            return reason(first.error)
        }
        if error is NIOConnectionError { return "the host name does not resolve" }
        return "\(error)"
    }
}
