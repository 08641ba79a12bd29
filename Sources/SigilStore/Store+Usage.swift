import Foundation
import SQLKit
import SigilCore

/// A table row as its columns and values (the statements that write it name the columns from it,
/// so the order is the row's own).
typealias SQLRowValues = [(column: String, value: SQLValue)]

extension Store {
    /// Adds a batch's usage to the summaries, in the transaction that records its sign-ins (SQLite,
    /// and PostgreSQL's batch written claims first): a statement a row. Rows are written in key
    /// order, and the tables in the order `PostgresSignInBatch` takes them (daily counts, sources,
    /// credentials: PostgreSQL runs a statement's data-modifying CTEs last-written first), so two
    /// replicas writing batches at once, either way, cannot deadlock.
    static func usageStatements(_ usage: UsageSummary) -> [SQLStatement] {
        func columns(_ row: SQLRowValues) -> String { row.map(\.column).joined(separator: ", ") }
        func values(_ row: SQLRowValues) -> [SQLValue] { row.map(\.value) }
        func placeholders(_ row: SQLRowValues) -> String { Array(repeating: "?", count: row.count).joined(separator: ", ") }
        var statements: [SQLStatement] = []
        for row in appDayRows(usage) {
            statements.append(SQLStatement(
                "INSERT INTO app_daily_sign_ins (\(columns(row))) VALUES (\(placeholders(row))) \(appDayConflict)", values(row)))
        }
        for row in usageSourceRows(usage) {
            // A new value is kept only while the credential has fewer than the maximum of its kind.
            let sameCredential = "app_id = ? AND credential_type = ? AND credential_id = ? AND kind = ?"
            let credential = Array(values(row).prefix(4))  // app, type, id and kind; row[4] is the value
            statements.append(SQLStatement("""
                INSERT INTO credential_usage_sources (\(columns(row))) SELECT \(placeholders(row))
                WHERE (SELECT COUNT(*) FROM credential_usage_sources WHERE \(sameCredential)) < ?
                    OR EXISTS (SELECT 1 FROM credential_usage_sources WHERE \(sameCredential) AND value = ?)
                \(usageSourceConflict)
                """,
                values(row) + credential + [.integer(Int64(UsageSummary.maximumSourcesPerKind))] + credential + [row[4].value]))
        }
        for row in credentialUsageRows(usage) {
            statements.append(SQLStatement(
                "INSERT INTO credential_usage (\(columns(row))) VALUES (\(placeholders(row))) \(credentialUsageConflict)", values(row)))
        }
        return statements
    }

    /// The columns of the rows below, for PostgreSQL's batch (which maps its JSON rows by name).
    static let credentialUsageColumns = "tenant_id, app_id, credential_type, credential_id, first_used, last_used, sign_ins"
    static let credentialUsageConflict = """
        ON CONFLICT (app_id, credential_type, credential_id) DO UPDATE SET
            first_used = CASE WHEN excluded.first_used < credential_usage.first_used THEN excluded.first_used ELSE credential_usage.first_used END,
            last_used = CASE WHEN excluded.last_used > credential_usage.last_used THEN excluded.last_used ELSE credential_usage.last_used END,
            sign_ins = credential_usage.sign_ins + excluded.sign_ins
        """
    static let usageSourceColumns = "app_id, credential_type, credential_id, kind, value, last_seen, sign_ins"
    static let usageSourceConflict = """
        ON CONFLICT (app_id, credential_type, credential_id, kind, value) DO UPDATE SET
            last_seen = CASE WHEN excluded.last_seen > credential_usage_sources.last_seen THEN excluded.last_seen ELSE credential_usage_sources.last_seen END,
            sign_ins = credential_usage_sources.sign_ins + excluded.sign_ins
        """
    static let appDayColumns = "tenant_id, day, app_id, secret_sign_ins, secretless_sign_ins"
    static let appDayConflict = """
        ON CONFLICT (tenant_id, day, app_id) DO UPDATE SET
            secret_sign_ins = app_daily_sign_ins.secret_sign_ins + excluded.secret_sign_ins,
            secretless_sign_ins = app_daily_sign_ins.secretless_sign_ins + excluded.secretless_sign_ins
        """

    /// `credential_usage` rows of a batch, in key order.
    static func credentialUsageRows(_ usage: UsageSummary) -> [SQLRowValues] {
        usage.credentials.sorted(by: { $0.key.sortKey < $1.key.sortKey }).map { credential, use in
            [
                ("tenant_id", .text(use.tenantId)), ("app_id", .text(credential.appId)), ("credential_type", .text(credential.type.rawValue)),
                ("credential_id", .text(credential.id)), ("first_used", .integer(use.first.epochMilliseconds)),
                ("last_used", .integer(use.last.epochMilliseconds)), ("sign_ins", .integer(Int64(use.signIns))),
            ]
        }
    }

    /// `credential_usage_sources` rows of a batch, in key order.
    static func usageSourceRows(_ usage: UsageSummary) -> [SQLRowValues] {
        usage.sources.sorted(by: { $0.key.sortKey < $1.key.sortKey }).map { source, sighting in
            [
                ("app_id", .text(source.credential.appId)), ("credential_type", .text(source.credential.type.rawValue)),
                ("credential_id", .text(source.credential.id)), ("kind", .text(source.kind.rawValue)), ("value", .text(source.value)),
                ("last_seen", .integer(sighting.last.epochMilliseconds)), ("sign_ins", .integer(Int64(sighting.signIns))),
            ]
        }
    }

    /// `app_daily_sign_ins` rows of a batch, in key order.
    static func appDayRows(_ usage: UsageSummary) -> [SQLRowValues] {
        usage.days.sorted(by: { ($0.key.day, $0.key.appId) < ($1.key.day, $1.key.appId) }).map { day, counts in
            [
                ("tenant_id", .text(day.tenantId)), ("day", .integer(day.day.epochMilliseconds)), ("app_id", .text(day.appId)),
                ("secret_sign_ins", .integer(Int64(counts.secret))), ("secretless_sign_ins", .integer(Int64(counts.secretless))),
            ]
        }
    }
}

extension UsageSummary.Credential {
    fileprivate var sortKey: String { appId + "\u{0}" + type.rawValue + "\u{0}" + id }
}

extension UsageSummary.Source {
    fileprivate var sortKey: String { credential.sortKey + "\u{0}" + kind.rawValue + "\u{0}" + value }
}
