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
    /// days later exist; returns the names it created. Rows that landed in the default partition
    /// for a new day (maintenance was not running that day) move into it. Replicas take turns
    /// (an advisory lock), and each partition is its own transaction. Does nothing on SQLite.
    @discardableResult
    public func prepareSignInPartitions(now: Date, daysAhead: Int) async throws -> [String] {
        guard dialect == .postgres else { return [] }
        let first = SignInPartition(containing: now).day
        var created: [String] = []
        for day in first...(first + Int64(daysAhead)) {
            let partition = SignInPartition(day: day)
            let made = try await transaction(changesDirectory: false) { database in
                try await database.raw("SELECT pg_advisory_xact_lock(\(bind: Self.partitionLock))").run()
                let exists = try await database.raw("SELECT 1 AS present WHERE to_regclass(\(bind: partition.name)) IS NOT NULL").first()
                guard exists == nil else { return false }
                let table = SQLIdentifier(partition.name)
                // Built beside the log and attached, so the rows the default partition holds for
                // this day can move in first: attaching checks that none are left behind.
                try await database.raw("CREATE TABLE \(table) (LIKE sign_ins INCLUDING DEFAULTS)").run()
                try await database.raw("""
                    WITH moved AS (
                        DELETE FROM sign_ins_default WHERE time >= \(literal: partition.lower) AND time < \(literal: partition.upper) RETURNING *)
                    INSERT INTO \(table) SELECT * FROM moved
                    """).run()
                try await database.raw("""
                    ALTER TABLE sign_ins ATTACH PARTITION \(table) FOR VALUES FROM (\(literal: partition.lower)) TO (\(literal: partition.upper))
                    """).run()
                return true
            }
            if made { created.append(partition.name) }
        }
        return created
    }

    /// PostgreSQL: drops every day partition whose whole day ended by `cutoff`; returns the names
    /// dropped. Rows of the day that holds `cutoff` stay until that day has passed too. Does
    /// nothing on SQLite.
    @discardableResult
    public func dropSignInPartitions(endedBy cutoff: Date) async throws -> [String] {
        guard dialect == .postgres else { return [] }
        let names = try await read { database in
            try await database.raw("""
                SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'sign_ins'::regclass
                """).all().map { try $0.string("name") }
        }
        let expired = names.compactMap(SignInPartition.init(name:)).filter { $0.upper <= cutoff.epochMilliseconds }.sorted { $0.day < $1.day }
        for partition in expired {
            try await transaction(changesDirectory: false) { database in
                try await database.raw("SELECT pg_advisory_xact_lock(\(bind: Self.partitionLock))").run()
                try await database.raw("DROP TABLE IF EXISTS \(SQLIdentifier(partition.name))").run()
            }
        }
        return expired.map(\.name)
    }

    /// The advisory lock that makes replicas take turns changing the sign-in log's partitions.
    static let partitionLock: Int64 = 7412
}
