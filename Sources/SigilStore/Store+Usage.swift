import Foundation
import SQLKit
import SigilCore

extension Store {
    /// Adds a batch's usage to the summaries, in the transaction that records its sign-ins. Rows
    /// are written in key order, so two replicas writing batches at once cannot deadlock.
    static func recordUsage(_ usage: UsageSummary, on database: any SQLDatabase) async throws {
        for (credential, use) in usage.credentials.sorted(by: { $0.key.sortKey < $1.key.sortKey }) {
            try await database.raw("""
                INSERT INTO credential_usage (tenant_id, app_id, credential_type, credential_id, first_used, last_used, sign_ins)
                VALUES (\(bind: use.tenantId), \(bind: credential.appId), \(bind: credential.type.rawValue), \(bind: credential.id),
                    \(bind: use.first.epochMilliseconds), \(bind: use.last.epochMilliseconds), \(bind: Int64(use.signIns)))
                ON CONFLICT (app_id, credential_type, credential_id) DO UPDATE SET
                    first_used = CASE WHEN excluded.first_used < credential_usage.first_used THEN excluded.first_used ELSE credential_usage.first_used END,
                    last_used = CASE WHEN excluded.last_used > credential_usage.last_used THEN excluded.last_used ELSE credential_usage.last_used END,
                    sign_ins = credential_usage.sign_ins + excluded.sign_ins
                """).run()
        }
        for (source, sighting) in usage.sources.sorted(by: { $0.key.sortKey < $1.key.sortKey }) {
            let credential = source.credential
            let sameCredential: SQLQueryString = """
                app_id = \(bind: credential.appId) AND credential_type = \(bind: credential.type.rawValue)
                AND credential_id = \(bind: credential.id) AND kind = \(bind: source.kind.rawValue)
                """
            // A new value is kept only while the credential has fewer than the maximum of its kind.
            try await database.raw("""
                INSERT INTO credential_usage_sources (app_id, credential_type, credential_id, kind, value, last_seen, sign_ins)
                SELECT \(bind: credential.appId), \(bind: credential.type.rawValue), \(bind: credential.id), \(bind: source.kind.rawValue),
                    \(bind: source.value), \(bind: sighting.last.epochMilliseconds), \(bind: Int64(sighting.signIns))
                WHERE (SELECT COUNT(*) FROM credential_usage_sources WHERE \(sameCredential)) < \(bind: UsageSummary.maximumSourcesPerKind)
                    OR EXISTS (SELECT 1 FROM credential_usage_sources WHERE \(sameCredential) AND value = \(bind: source.value))
                ON CONFLICT (app_id, credential_type, credential_id, kind, value) DO UPDATE SET
                    last_seen = CASE WHEN excluded.last_seen > credential_usage_sources.last_seen THEN excluded.last_seen ELSE credential_usage_sources.last_seen END,
                    sign_ins = credential_usage_sources.sign_ins + excluded.sign_ins
                """).run()
        }
        for (day, counts) in usage.days.sorted(by: { ($0.key.day, $0.key.appId) < ($1.key.day, $1.key.appId) }) {
            try await database.raw("""
                INSERT INTO app_daily_sign_ins (tenant_id, day, app_id, secret_sign_ins, secretless_sign_ins)
                VALUES (\(bind: day.tenantId), \(bind: day.day.epochMilliseconds), \(bind: day.appId), \(bind: Int64(counts.secret)), \(bind: Int64(counts.secretless)))
                ON CONFLICT (tenant_id, day, app_id) DO UPDATE SET
                    secret_sign_ins = app_daily_sign_ins.secret_sign_ins + excluded.secret_sign_ins,
                    secretless_sign_ins = app_daily_sign_ins.secretless_sign_ins + excluded.secretless_sign_ins
                """).run()
        }
    }
}

extension UsageSummary.Credential {
    fileprivate var sortKey: String { appId + "\u{0}" + type.rawValue + "\u{0}" + id }
}

extension UsageSummary.Source {
    fileprivate var sortKey: String { credential.sortKey + "\u{0}" + kind.rawValue + "\u{0}" + value }
}
