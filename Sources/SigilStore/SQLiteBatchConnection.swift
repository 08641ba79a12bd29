import VaporCSQLite

/// SQLite only: the connection the token endpoint's group commit writes on, driven through
/// SQLite's C interface. Its statements are prepared once and kept, and a whole batch runs as one
/// job on the store's thread pool; through SQLKit each statement would be built, prepared and
/// finished anew, each on a hop of its own between threads.
///
/// Not safe for concurrent use: the store lends it to one writer at a time (its own pool of one,
/// behind the writer gate), and that writer uses it on one thread-pool job.
final class SQLiteBatchConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// Prepared statements by their text.
    private var statements: [String: OpaquePointer] = [:]

    /// Opens `path` (which the store has already created and migrated) with the store's pragmas.
    init(path: String) throws(SQLiteStatus) {
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
        let opened = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard opened == SQLITE_OK else {
            let status = SQLiteStatus(code: opened, handle: handle)
            close()
            throw status
        }
        do {
            for pragma in Store.sqlitePragmas { try execute(SQLStatement(pragma, [])) }
        } catch {
            close()
            throw error
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction, committed if `body` returns and rolled back
    /// if anything throws. Blocks the calling thread while SQLite works or waits for its lock.
    func transaction<T>(_ body: () throws(SQLiteStatus) -> T) throws(SQLiteStatus) -> T {
        try execute(SQLStatement("BEGIN IMMEDIATE", []))
        do {
            let result = try body()
            try execute(SQLStatement("COMMIT", []))
            return result
        } catch {
            // A failed COMMIT or statement may already have ended the transaction.
            if sqlite_nio_sqlite3_get_autocommit(handle) == 0 { _ = sqlite_nio_sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Runs a statement, passing over any rows it returns; returns how many rows it changed.
    @discardableResult
    func execute(_ statement: SQLStatement) throws(SQLiteStatus) -> Int {
        let prepared = try prepare(statement.sql)
        defer {
            sqlite_nio_sqlite3_reset(prepared)
            sqlite_nio_sqlite3_clear_bindings(prepared)
        }
        for (offset, value) in statement.values.enumerated() {
            let index = Int32(offset + 1)
            let bound = switch value {
            case .text(let text): sqlite_nio_sqlite3_bind_text64(prepared, index, text, UInt64(text.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
            case .integer(let integer): sqlite_nio_sqlite3_bind_int64(prepared, index, integer)
            case .null: sqlite_nio_sqlite3_bind_null(prepared, index)
            }
            guard bound == SQLITE_OK else { throw SQLiteStatus(code: bound, handle: handle) }
        }
        var stepped = sqlite_nio_sqlite3_step(prepared)
        while stepped == SQLITE_ROW { stepped = sqlite_nio_sqlite3_step(prepared) }
        guard stepped == SQLITE_DONE else { throw SQLiteStatus(code: stepped, handle: handle) }
        return Int(sqlite_nio_sqlite3_changes(handle))
    }

    /// Closes the connection, its statements first.
    func close() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements = [:]
        sqlite_nio_sqlite3_close_v2(handle)
        handle = nil
    }

    private func prepare(_ sql: String) throws(SQLiteStatus) -> OpaquePointer {
        if let prepared = statements[sql] { return prepared }
        var prepared: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard status == SQLITE_OK, let prepared else { throw SQLiteStatus(code: status, handle: handle) }
        statements[sql] = prepared
        return prepared
    }

    /// SQLite copies the bound text (its `SQLITE_TRANSIENT`, which C defines as a cast Swift cannot import).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A result code other than success from SQLite's C interface, with SQLite's message.
struct SQLiteStatus: Error, CustomStringConvertible {
    /// The extended result code.
    let code: Int32
    let message: String

    init(code: Int32, handle: OpaquePointer?) {
        self.code = code
        message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite_nio_sqlite3_errstr(code))
    }

    /// The primary result code (`SQLITE_FULL`, `SQLITE_IOERR`, …) of the extended one.
    var primary: Int32 { code & 0xff }

    var description: String { "SQLite error \(code): \(message)" }
}
