import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import PostgresKit
import SQLKit
import SQLiteKit
import SigilCore

/// Where the store lives: an SQLite file (the embedded default) or a PostgreSQL server.
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    /// Reads `--database`: a `postgres://` / `postgresql://` URL, or a path to an SQLite file.
    public init(argument: String) {
        if argument.hasPrefix("postgres://") || argument.hasPrefix("postgresql://") {
            self = .postgres(url: argument)
        } else {
            self = .sqlite(path: argument)
        }
    }
}

/// The SQL store behind the server: the same schema and queries on SQLite (WAL) and PostgreSQL.
/// Every write runs in a transaction; a write is acknowledged only after it commits.
public final class Store: Sendable {
    public enum Dialect: Sendable { case sqlite, postgres }

    public let dialect: Dialect
    let pool: ConnectionPool<any SQLDatabase>
    /// SQLite only: the connection the sign-in batches are written on (see `SQLiteBatchConnection`).
    let batchPool: ConnectionPool<SQLiteBatchConnection>?
    let logger: Logger
    /// SQLite only: serialises this process's writers (see `WriterGate`).
    let writerGate: WriterGate?
    /// SQLite only: the threads its blocking calls run on, one per pooled connection.
    let threadPool: NIOThreadPool?
    /// SQLite only: the lock that keeps a second process off the file (see `ProcessLock`).
    let processLock: ProcessLock?
    /// SQLite only: the directory generation, counted in memory. One process owns an SQLite
    /// store, so it sees every commit and needs no query to know the generation.
    let localGeneration = Atomic<Int64>(0)
    /// PostgreSQL only: the generation query, one read shared by the requests waiting for it
    /// while `generationFeed` is not live.
    let sharedGenerationRead: BatchedWork<Void, Int64>?
    /// PostgreSQL only: the generation as `NOTIFY` reports it, without a query.
    let generationFeed: DirectoryGenerationFeed?
    /// `sigil_store_query_duration_seconds`, timed where every unit of work passes (`read`,
    /// `write`, `transaction`): from asking for a connection to giving it back.
    let readDuration: CoreMetrics.Timer
    let writeDuration: CoreMetrics.Timer

    /// The metric that times the store's reads and writes.
    public static let queryDurationMetric = "sigil_store_query_duration_seconds"

    init(
        dialect: Dialect, pool: ConnectionPool<any SQLDatabase>, batchPool: ConnectionPool<SQLiteBatchConnection>? = nil, logger: Logger,
        threadPool: NIOThreadPool? = nil, processLock: ProcessLock? = nil,
        generationFeed: DirectoryGenerationFeed? = nil, metrics: any MetricsFactory
    ) {
        readDuration = CoreMetrics.Timer(label: Self.queryDurationMetric, dimensions: [("operation", "read")], factory: metrics)
        writeDuration = CoreMetrics.Timer(label: Self.queryDurationMetric, dimensions: [("operation", "write")], factory: metrics)
        self.dialect = dialect
        self.pool = pool
        self.batchPool = batchPool
        self.logger = logger
        self.threadPool = threadPool
        self.processLock = processLock
        writerGate = dialect == .sqlite ? WriterGate() : nil
        self.generationFeed = generationFeed
        sharedGenerationRead = dialect == .sqlite ? nil : BatchedWork(sharing: { [pool] in
            try await pool.withConnection { database in
                try await database.raw("SELECT value FROM directory_generation WHERE id = 1").first()?.int64("value") ?? 0
            }
        })
    }

    /// Opens the store and brings its schema up to date, or with `migrating` false leaves it as
    /// it is (a start that checks the key-encryption key before it changes anything; `migrate()` next).
    /// On PostgreSQL, `directoryFeed` false reads the directory generation on every use instead of
    /// listening for it. Query durations go to `metrics` (nowhere by default).
    public static func open(
        _ location: StoreLocation, logger: Logger, migrating: Bool = true, directoryFeed: Bool = true,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) async throws -> Store {
        try await open(location, logger: logger, migratingThrough: migrating ? .max : 0, directoryFeed: directoryFeed, metrics: metrics)
    }

    /// Opens the store with the migrations up to `version` applied (tests of an upgrade).
    static func open(
        _ location: StoreLocation, logger: Logger, migratingThrough version: Int, directoryFeed: Bool = true,
        metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) async throws -> Store {
        let store: Store
        switch location {
        case .sqlite(let path):
            let lock = try ProcessLock(path: path)
            let connections = 4
            let threads = NIOThreadPool(numberOfThreads: connections)
            threads.start()
            let outages = OutageLog(place: path, logger: logger)
            let pool = ConnectionPool<any SQLDatabase>(maximum: connections, outages: outages) {
                try await openSQLite(path: path, threadPool: threads, logger: logger)
            }
            // Opened at its first batch, after the migrations; one batch at a time uses it.
            let batchPool = ConnectionPool<SQLiteBatchConnection>(maximum: 1, outages: outages) {
                let connection = try await threads.runIfActive { try SQLiteBatchConnection(path: path) }
                return .init(database: connection, close: { try? await threads.runIfActive { connection.close() } })
            }
            store = Store(
                dialect: .sqlite, pool: pool, batchPool: batchPool, logger: logger, threadPool: threads, processLock: lock, metrics: metrics)
        case .postgres(let url):
            let configuration = try postgresConfiguration(url)
            let place = PostgresProblem.place(configuration)
            let outages = OutageLog(place: place, logger: logger)
            let pool = ConnectionPool<any SQLDatabase>(maximum: 8, outages: outages) {
                try await openPostgres(configuration, logger: logger)
            }
            store = Store(
                dialect: .postgres, pool: pool, logger: logger,
                generationFeed: directoryFeed ? DirectoryGenerationFeed(configuration: configuration, logger: logger) : nil, metrics: metrics)
        }
        if version > 0 { try await store.migrate(through: version) }
        return store
    }

    public func close() async {
        await generationFeed?.stop()
        await pool.close()
        await batchPool?.close()
        try? await threadPool?.shutdownGracefully()
        processLock?.release()
    }

    /// Every SQLite connection's settings, in order.
    ///
    /// busy_timeout first: sqlite-nio otherwise spins forever on a locked database.
    /// WAL with synchronous=NORMAL loses no committed transaction when the process is killed.
    /// SQLite's own automatic checkpoints stay on: moving them to a background job was tried
    /// and measured worse (a passive checkpoint never caught up, the log grew to 900 MB; a
    /// truncating one every second stalled writers each second), and passive copies beside the
    /// batches with the batches still restarting the log gained nothing (docs/decisions.md).
    /// They run every 250 pages instead of 1,000: each is shorter, and the requests waiting
    /// behind one wait less (open-loop p99 at 2,000 tokens/s: 6.4 ms instead of 10–98 ms).
    /// temp_store=MEMORY keeps statement journals (multi-row inserts, ON CONFLICT) off disk.
    static let sqlitePragmas = [
        "PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON",
        "PRAGMA temp_store = MEMORY", "PRAGMA wal_autocheckpoint = 250",
    ]

    static func openSQLite(path: String, threadPool: NIOThreadPool, logger: Logger) async throws -> ConnectionPool<any SQLDatabase>.Connection {
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: threadPool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        let database = connection.sql(queryLogLevel: nil)
        let close: @Sendable () async -> Void = {
            // The future-returning close still runs when the closing task is cancelled (shutdown).
            let closed: EventLoopFuture<Void> = connection.close()
            try? await closed.get()
        }
        do {
            for pragma in sqlitePragmas {
                try await database.raw(SQLQueryString(pragma)).run()
            }
        } catch {
            // A connection opened while the server shuts down (its task cancelled) is closed, not
            // dropped: an SQLite connection must be closed before it goes.
            await close()
            throw error
        }
        return .init(database: database, close: close)
    }

    static func postgresConfiguration(_ url: String) throws -> PostgresConnection.Configuration {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            // The URL may carry a password: say what is wrong without repeating it.
            throw StoreError.invalidLocation("--database is not a postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE URL")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreError.invalidLocation("--database URL names no user: postgres://USER@HOST/DATABASE")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        return PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: try postgresTLS(components, host: host)
        )
    }

    /// libpq's `sslmode` (and `sslrootcert`): `disable`, `prefer`, `require` (encrypted, not
    /// verified), `verify-ca`, `verify-full`. Without one, a loopback server is reached in the
    /// clear and any other host with full verification: the store holds sign-ins and sealed keys,
    /// and a forged answer could hand out an administrator's key.
    static func postgresTLS(_ components: URLComponents, host: String) throws -> PostgresConnection.Configuration.TLS {
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        let mode = query["sslmode"] ?? (loopback ? "disable" : "verify-full")
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificate = query["sslrootcert"] {
            tls.trustRoots = .file(rootCertificate)
        }
        switch mode {
        case "disable": return .disable
        case "prefer":
            tls.certificateVerification = .none
            return .prefer(try NIOSSLContext(configuration: tls))
        case "require":
            tls.certificateVerification = .none
            return .require(try NIOSSLContext(configuration: tls))
        case "verify-ca":
            tls.certificateVerification = .noHostnameVerification
            return .require(try NIOSSLContext(configuration: tls))
        case "verify-full":
            tls.certificateVerification = .fullVerification
            return .require(try NIOSSLContext(configuration: tls))
        default:
            throw StoreError.invalidLocation("sslmode '\(mode)' is not one of disable, prefer, require, verify-ca, verify-full")
        }
    }

    static func openPostgres(_ configuration: PostgresConnection.Configuration, logger: Logger) async throws -> ConnectionPool<any SQLDatabase>.Connection {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: Int.random(in: 0...Int.max), logger: logger)
        } catch {
            throw StoreError.unavailable(PostgresProblem.describe(error, configuration))
        }
        let isOpen: @Sendable () -> Bool = { !connection.isClosed }
        let database = OpenConnectionGuard(
            connection: connection, database: connection.sql(queryLogLevel: nil), isOpen: isOpen, place: PostgresProblem.place(configuration))
        return .init(database: database, close: { try? await connection.close() }, isOpen: isOpen)
    }

    /// Runs `body` on one connection without a transaction (single statements, reads).
    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await timed(readDuration) { try await pool.withConnection(body) }
    }

    /// Runs a single writing statement outside a transaction, through the writer gate on SQLite.
    func write<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await timed(writeDuration) {
            guard let writerGate else { return try await pool.withConnection(body) }
            return try await writerGate.run { try await pool.withConnection(body) }
        }
    }

    /// Runs `body` in a write transaction: through the writer gate and with `BEGIN IMMEDIATE` on
    /// SQLite, so writers queue instead of failing at commit. Unless told otherwise the
    /// transaction changes the directory, and bumps the directory generation with it.
    func transaction<T: Sendable>(changesDirectory: Bool = true, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await timed(writeDuration) {
            guard let writerGate else { return try await unguardedTransaction(changesDirectory: changesDirectory, body) }
            return try await writerGate.run { try await unguardedTransaction(changesDirectory: changesDirectory, body) }
        }
    }

    /// Records how long `body` took, failed or not, waits for a connection and the writer gate included.
    func timed<T>(_ timer: CoreMetrics.Timer, _ body: () async throws -> T) async throws -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start)) }
        return try await body()
    }

    private func unguardedTransaction<T: Sendable>(changesDirectory: Bool, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await pool.withConnection { database in
            try await database.raw(dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN").run()
            do {
                let result = try await body(database)
                let generation = changesDirectory ? try await bumpGeneration(database) : nil
                try await database.raw("COMMIT").run()
                if let generation {
                    localGeneration.add(1, ordering: .sequentiallyConsistent)
                    generationFeed?.advance(to: generation)
                }
                return result
            } catch {
                // Not on a connection an outage took: PostgresNIO never answers a query written to a
                // closed connection, so ROLLBACK would hang this caller (and every token request
                // batched behind it). The pool closes that connection; the server rolls back with it.
                if !StoreOutage.isOutage(error) { try? await database.raw("ROLLBACK").run() }
                throw error
            }
        }
    }

    /// Counts a directory change in the transaction on `database`; on PostgreSQL it also notifies
    /// every replica's feed with the new generation, delivered when the transaction commits.
    private func bumpGeneration(_ database: any SQLDatabase) async throws -> Int64 {
        guard dialect == .postgres else {
            try await database.raw("UPDATE directory_generation SET value = value + 1 WHERE id = 1").run()
            return 0
        }
        let row = try await database.raw("""
            WITH bumped AS (UPDATE directory_generation SET value = value + 1 WHERE id = 1 RETURNING value)
            SELECT value, pg_notify(\(bind: DirectoryGenerationFeed.channel), value::text) FROM bumped
            """).first()
        return try row?.int64("value") ?? 0
    }

    /// Brings the schema up to date (through migration `last`).
    public func migrate(through last: Int = .max) async throws {
        try await transaction(changesDirectory: false) { database in
            if dialect == .postgres {
                // Replicas starting together take turns here.
                try await database.raw("SELECT pg_advisory_xact_lock(7411)").run()
            }
            try await database.raw("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)").run()
            let applied = Set(try await database.raw("SELECT version FROM schema_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
            let known = Schema.migrations.map(\.version).max() ?? 0
            if let newest = applied.max(), newest > known {
                // A downgrade: this binary would run on tables it does not know.
                throw StoreError.invalidLocation(
                    "the store's schema is at version \(newest), newer than this sigil knows (\(known)): a later Sigil upgraded it. "
                        + "Run that version, or restore the backup made before the upgrade")
            }
            for migration in Schema.migrations where !applied.contains(migration.version) && migration.version <= last {
                for statement in migration.statements(for: dialect) {
                    try await database.raw(SQLQueryString(statement)).run()
                }
                try await database.raw("INSERT INTO schema_migrations (version, applied_at) VALUES (\(bind: migration.version), \(bind: Date().epochMilliseconds))").run()
                logger.info("applied schema migration \(migration.version)")
            }
        }
    }

    /// A number that changes whenever any replica commits a directory change. Caches of
    /// directory objects compare it on every use, so a change made anywhere applies everywhere at
    /// once. On PostgreSQL it comes from the `NOTIFY` feed while that is live, else from a read.
    public func directoryGeneration() async throws -> Int64 {
        guard let sharedGenerationRead else { return localGeneration.load(ordering: .sequentiallyConsistent) }
        if let live = generationFeed?.current { return live }
        let generation = try await sharedGenerationRead.submit(())
        generationFeed?.advance(to: generation)
        return generation
    }

    /// True when `error` is the database refusing a duplicate key.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? SQLiteError {
            return [.constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed].contains(error.reason)
        }
        if let error = error as? PSQLError {
            return error.serverInfo?[.sqlState] == "23505"
        }
        return false
    }
}

extension Date {
    /// Milliseconds since 1970, how the store keeps time. Truncated, not rounded, so that a time
    /// read back formats to the same second as the time that was written (18.9996 s must not come
    /// back as 19.000 s: a create response and a later listing would then disagree).
    public var epochMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
    public init(epochMilliseconds: Int64) { self.init(timeIntervalSince1970: Double(epochMilliseconds) / 1000) }
}

extension SQLRow {
    func string(_ column: String) throws -> String { try decode(column: column, as: String.self) }
    func optionalString(_ column: String) throws -> String? { try decodeNil(column: column) ? nil : decode(column: column, as: String.self) }
    func int64(_ column: String) throws -> Int64 { try decode(column: column, as: Int64.self) }
    func optionalInt64(_ column: String) throws -> Int64? { try decodeNil(column: column) ? nil : decode(column: column, as: Int64.self) }
    func bool(_ column: String) throws -> Bool { try decode(column: column, as: Int64.self) != 0 }
    func date(_ column: String) throws -> Date { Date(epochMilliseconds: try int64(column)) }
    func optionalDate(_ column: String) throws -> Date? { try optionalInt64(column).map(Date.init(epochMilliseconds:)) }
}
