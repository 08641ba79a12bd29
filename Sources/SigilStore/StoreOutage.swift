import Foundation
import PostgresKit
import SQLiteKit

/// Failures that mean the database cannot serve right now — PostgreSQL restarting or out of
/// reach, the disk under SQLite full or failing — as opposed to a fault in one query. The pool
/// turns them into `StoreError.unavailable`, which every API answers with `503` and `Retry-After`:
/// they end by themselves, and the pool reconnects without a restart of Sigil.
enum StoreOutage {
    /// The outage `error` amounts to, in words that say what to fix, or nil if it is none.
    /// `place` names the store: the SQLite file, or PostgreSQL's host and port (never a password).
    static func classify(_ error: any Error, place: String) -> StoreError? {
        if let error = error as? StoreError {
            guard case .unavailable = error else { return nil }
            return error
        }
        if let error = error as? PSQLError { return postgres(error, place: place) }
        if let error = error as? SQLiteError { return sqlite(error.reason, file: place) }
        if let error = error as? SQLiteStatus { return sqlite(SQLiteError.Reason(primaryCode: error.primary), file: place) }
        return nil
    }

    /// Whether `error` is an outage, whatever the store.
    static func isOutage(_ error: any Error) -> Bool { classify(error, place: "") != nil }

    private static func postgres(_ error: PSQLError, place: String) -> StoreError? {
        if let state = error.serverInfo?[.sqlState] {
            // Class 08: connection exception; 57P01–57P03: shut down, crashed, starting up;
            // 53xxx: out of disk, memory or connections.
            guard state.hasPrefix("08") || state.hasPrefix("53") || ["57P01", "57P02", "57P03"].contains(state) else { return nil }
            return .unavailable("PostgreSQL at \(place) cannot serve: \(error.serverInfo?[.message] ?? "an error") (SQLSTATE \(state))")
        }
        let lost: [PSQLError.Code] = [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed]
        guard lost.contains(error.code) else { return nil }
        return .unavailable("lost the connection to PostgreSQL at \(place); reconnecting")
    }

    private static func sqlite(_ reason: SQLiteError.Reason?, file: String) -> StoreError? {
        guard let reason else { return nil }
        let folder = (file as NSString).deletingLastPathComponent
        switch reason {
        case .full:
            return .unavailable("the disk holding \(folder) is full (\(freeSpace(folder))): SQLite cannot write \(file); free space there")
        case .cantOpen:
            return .unavailable("SQLite cannot open \(file); check that \(folder) exists and is writable")
        default:
            guard "\(reason)".hasPrefix("ioError") else { return nil }
            return .unavailable("the disk holding \(folder) failed a read or write of \(file) (\(reason)); check the disk")
        }
    }

    /// "12 KiB free", as the file system reports it.
    private static func freeSpace(_ folder: String) -> String {
        var stats = statvfs()
        guard statvfs(folder, &stats) == 0 else { return "free space unknown" }
        let bytes = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
        return bytes < 1024 ? "\(bytes) bytes free" : "\(bytes / 1024) KiB free"
    }
}

extension SQLiteError.Reason {
    /// The outages among SQLite's primary result codes (from the C interface, `SQLiteStatus`), as
    /// sqlite-nio names them.
    fileprivate init?(primaryCode: Int32) {
        switch primaryCode {
        case 10: self = .ioError
        case 13: self = .full
        case 14: self = .cantOpen
        default: return nil
        }
    }
}
