import Foundation
import SQLKit
import SigilCore

extension Store {
    /// Adds a batch's usage to the summaries, in the transaction that records its sign-ins. Rows
    /// are written in key order, so two replicas writing batches at once cannot deadlock.
    static func usageStatements(_ usage: UsageSummary) -> [SQLStatement] {
        var statements: [SQLStatement] = []
        for (credential, use) in usage.credentials.sorted(by: { $0.key.sortKey < $1.key.sortKey }) {
            statements.append(SQLStatement("""
                INSERT INTO credential_usage (tenant_id, app_id, credential_type, credential_id, first_used, last_used, sign_ins)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (app_id, credential_type, credential_id) DO UPDATE SET
                    first_used = CASE WHEN excluded.first_used < credential_usage.first_used THEN excluded.first_used ELSE credential_usage.first_used END,
                    last_used = CASE WHEN excluded.last_used > credential_usage.last_used THEN excluded.last_used ELSE credential_usage.last_used END,
                    sign_ins = credential_usage.sign_ins + excluded.sign_ins
                """, [
                    .text(use.tenantId), .text(credential.appId), .text(credential.type.rawValue), .text(credential.id),
                    .integer(use.first.epochMilliseconds), .integer(use.last.epochMilliseconds), .integer(Int64(use.signIns)),
                ]))
        }
        for (source, sighting) in usage.sources.sorted(by: { $0.key.sortKey < $1.key.sortKey }) {
            let credential = source.credential
            let sameCredential = "app_id = ? AND credential_type = ? AND credential_id = ? AND kind = ?"
            let credentialValues: [SQLValue] = [.text(credential.appId), .text(credential.type.rawValue), .text(credential.id), .text(source.kind.rawValue)]
            // A new value is kept only while the credential has fewer than the maximum of its kind.
            statements.append(SQLStatement("""
                INSERT INTO credential_usage_sources (app_id, credential_type, credential_id, kind, value, last_seen, sign_ins)
                SELECT ?, ?, ?, ?, ?, ?, ?
                WHERE (SELECT COUNT(*) FROM credential_usage_sources WHERE \(sameCredential)) < ?
                    OR EXISTS (SELECT 1 FROM credential_usage_sources WHERE \(sameCredential) AND value = ?)
                ON CONFLICT (app_id, credential_type, credential_id, kind, value) DO UPDATE SET
                    last_seen = CASE WHEN excluded.last_seen > credential_usage_sources.last_seen THEN excluded.last_seen ELSE credential_usage_sources.last_seen END,
                    sign_ins = credential_usage_sources.sign_ins + excluded.sign_ins
                """,
                credentialValues + [.text(source.value), .integer(sighting.last.epochMilliseconds), .integer(Int64(sighting.signIns))]
                    + credentialValues + [.integer(Int64(UsageSummary.maximumSourcesPerKind))]
                    + credentialValues + [.text(source.value)]))
        }
        for (day, counts) in usage.days.sorted(by: { ($0.key.day, $0.key.appId) < ($1.key.day, $1.key.appId) }) {
            statements.append(SQLStatement("""
                INSERT INTO app_daily_sign_ins (tenant_id, day, app_id, secret_sign_ins, secretless_sign_ins)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (tenant_id, day, app_id) DO UPDATE SET
                    secret_sign_ins = app_daily_sign_ins.secret_sign_ins + excluded.secret_sign_ins,
                    secretless_sign_ins = app_daily_sign_ins.secretless_sign_ins + excluded.secretless_sign_ins
                """, [
                    .text(day.tenantId), .integer(day.day.epochMilliseconds), .text(day.appId),
                    .integer(Int64(counts.secret)), .integer(Int64(counts.secretless)),
                ]))
        }
        return statements
    }
}

extension UsageSummary.Credential {
    fileprivate var sortKey: String { appId + "\u{0}" + type.rawValue + "\u{0}" + id }
}

extension UsageSummary.Source {
    fileprivate var sortKey: String { credential.sortKey + "\u{0}" + kind.rawValue + "\u{0}" + value }
}
