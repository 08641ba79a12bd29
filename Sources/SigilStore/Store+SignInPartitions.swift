import Foundation
import SQLKit
import SigilCore

/// One UTC day of the sign-in log on PostgreSQL: the partition `sign_ins_YYYYMMDD`, holding the
/// rows whose `time` (epoch milliseconds) is in `[lower, upper)`.
struct SignInPartition: Equatable {
    static let millisecondsPerDay: Int64 = 86_400_000
    static let prefix = "sign_ins_"

    /// Days since 1970-01-01, UTC.
    let day: Int64

    /// The day that holds `date`.
    init(containing date: Date) {
        day = Self.floorDiv(date.epochMilliseconds, Self.millisecondsPerDay)
    }

    init(day: Int64) { self.day = day }

    /// The partition a table name denotes; nil for any other table (the default partition).
    init?(name: String) {
        guard name.hasPrefix(Self.prefix) else { return nil }
        let digits = name.dropFirst(Self.prefix.count)
        guard digits.count == 8, digits.allSatisfy(\.isASCIIDigit), let number = Int(digits) else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (number / 10_000, number / 100 % 100, number % 100)
        guard let date = Self.calendar.date(from: components), Self.calendar.dateComponents([.year, .month, .day], from: date) == components
        else { return nil }
        self.init(containing: date)
    }

    var lower: Int64 { day * Self.millisecondsPerDay }
    var upper: Int64 { lower + Self.millisecondsPerDay }

    var name: String {
        let date = Date(timeIntervalSince1970: TimeInterval(day) * 86_400)
        let parts = Self.calendar.dateComponents([.year, .month, .day], from: date)
        return Self.prefix + String(format: "%04d%02d%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    private static func floorDiv(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Store {
    /// PostgreSQL: makes sure the day partitions from the day holding `now` through `daysAhead`
    /// days later exist; returns the names it created, and the days it could not make with why.
    ///
    /// A day whose rows already wait in the default partition (maintenance was down that day) is
    /// left there: attaching a partition would have to move them while token requests keep
    /// adding more, and its check of the default partition would then fail. Those rows stay in
    /// the default partition, whose old rows retention deletes one by one; the next days get
    /// their partitions ahead of time as usual. Replicas take turns (an advisory lock); each day
    /// is its own transaction, and waits at most `lockTimeout` for a lock, so maintenance never
    /// queues token requests behind a long read of the log. Does nothing on SQLite.
    public func prepareSignInPartitions(now: Date, daysAhead: Int) async -> (created: [String], failed: [String: String]) {
        guard dialect == .postgres else { return ([], [:]) }
        let first = SignInPartition(containing: now).day
        var created: [String] = []
        var failed: [String: String] = [:]
        for day in first...(first + Int64(daysAhead)) {
            let partition = SignInPartition(day: day)
            do {
                let made = try await transaction(changesDirectory: false) { database in
                    try await Self.takePartitionLock(database)
                    let exists = try await database.raw("SELECT 1 AS present WHERE to_regclass(\(bind: partition.name)) IS NOT NULL").first()
                    let waiting = try await database.raw("""
                        SELECT 1 AS present FROM sign_ins_default
                        WHERE time >= \(bind: partition.lower) AND time < \(bind: partition.upper) LIMIT 1
                        """).first()
                    guard exists == nil, waiting == nil else { return false }
                    // Built beside the log and attached: attaching locks the log less than
                    // `CREATE TABLE … PARTITION OF` does (token inserts go on).
                    let table = SQLIdentifier(partition.name)
                    try await database.raw("CREATE TABLE \(table) (LIKE sign_ins INCLUDING DEFAULTS)").run()
                    try await database.raw("""
                        ALTER TABLE sign_ins ATTACH PARTITION \(table) FOR VALUES FROM (\(literal: partition.lower)) TO (\(literal: partition.upper))
                        """).run()
                    return true
                }
                if made { created.append(partition.name) }
            } catch {
                failed[partition.name] = "\(error)"
            }
        }
        return (created, failed)
    }

    /// PostgreSQL: drops every day partition whose whole day ended by `cutoff`; returns the names
    /// dropped, and those it could not drop with why (tried again at the next sweep). Rows of the
    /// day that holds `cutoff` stay until that day has passed too. Does nothing on SQLite.
    public func dropSignInPartitions(endedBy cutoff: Date) async throws -> (dropped: [String], failed: [String: String]) {
        guard dialect == .postgres else { return ([], [:]) }
        let names = try await read { database in
            try await database.raw("""
                SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'sign_ins'::regclass
                """).all().map { try $0.string("name") }
        }
        let expired = names.compactMap(SignInPartition.init(name:)).filter { $0.upper <= cutoff.epochMilliseconds }.sorted { $0.day < $1.day }
        var dropped: [String] = []
        var failed: [String: String] = [:]
        for partition in expired {
            do {
                // Dropping a partition locks the whole log for a moment: never wait long for that lock.
                try await transaction(changesDirectory: false) { database in
                    try await Self.takePartitionLock(database)
                    try await database.raw("DROP TABLE IF EXISTS \(SQLIdentifier(partition.name))").run()
                }
                dropped.append(partition.name)
            } catch {
                failed[partition.name] = "\(error)"
            }
        }
        return (dropped, failed)
    }

    /// Takes the advisory lock that makes replicas take turns changing the log's partitions, and
    /// bounds how long the statements after it wait for a lock on the log.
    private static func takePartitionLock(_ database: any SQLDatabase) async throws {
        try await database.raw("SELECT pg_advisory_xact_lock(\(bind: partitionLock))").run()
        try await database.raw("SET LOCAL lock_timeout = \(literal: lockTimeout)").run()
    }

    /// The advisory lock that makes replicas take turns changing the sign-in log's partitions.
    static let partitionLock: Int64 = 7412

    /// How long changing a partition waits for a lock on the log before it gives up until the next sweep.
    static let lockTimeout = "1s"
}
