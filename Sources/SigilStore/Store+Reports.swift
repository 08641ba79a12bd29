import Foundation
import SQLKit
import SigilCore

extension Store {
    /// Every credential of the tenant's applications and managed identities, with its use from
    /// the usage summary: a handful of queries whatever the size of the sign-in log.
    public func credentialInventory(tenantId: String, now: Date) async throws -> [InventoryItem] {
        try await read { database in
            let owner = "a.app_id AS owner_app_id, a.display_name AS owner_name, a.kind AS owner_kind"
            func rows(_ table: String) async throws -> [any SQLRow] {
                try await database.raw("""
                    SELECT c.*, \(unsafeRaw: owner) FROM \(unsafeRaw: table) c JOIN applications a ON a.object_id = c.application_id
                    WHERE a.tenant_id = \(bind: tenantId)
                    """).all()
            }
            func app(_ row: any SQLRow) throws -> ReportedApp {
                ReportedApp(
                    appId: try row.string("owner_app_id"), displayName: try row.string("owner_name"),
                    kind: PrincipalKind(rawValue: try row.string("owner_kind")) ?? .application)
            }
            var items = try await rows("password_credentials").map { InventoryItem(try Self.passwordCredential($0), of: try app($0), now: now) }
            items += try await rows("key_credentials").map { InventoryItem(try Self.keyCredential($0), of: try app($0), now: now) }
            items += try await rows("federated_credentials").map { InventoryItem(try Self.federatedCredential($0), of: try app($0)) }

            var uses: [UsageSummary.Credential: (last: Date, signIns: Int)] = [:]
            for row in try await database.raw("""
                SELECT app_id, credential_type, credential_id, last_used, sign_ins FROM credential_usage WHERE tenant_id = \(bind: tenantId)
                """).all() {
                guard let key = try Self.usageCredential(row) else { continue }
                uses[key] = (try row.date("last_used"), Int(try row.int64("sign_ins")))
            }
            var sources: [UsageSummary.Credential: [UsageSummary.SourceKind: [String]]] = [:]
            for row in try await database.raw("""
                SELECT s.app_id, s.credential_type, s.credential_id, s.kind, s.value FROM credential_usage_sources s
                JOIN credential_usage u ON u.app_id = s.app_id AND u.credential_type = s.credential_type AND u.credential_id = s.credential_id
                WHERE u.tenant_id = \(bind: tenantId) ORDER BY s.sign_ins DESC, s.value
                """).all() {
                guard let key = try Self.usageCredential(row), let kind = UsageSummary.SourceKind(rawValue: try row.string("kind")) else { continue }
                sources[key, default: [:]][kind, default: []].append(try row.string("value"))
            }
            for index in items.indices {
                let key = items[index].usageKey
                items[index].lastUsed = uses[key]?.last
                items[index].signIns = uses[key]?.signIns ?? 0
                items[index].networks = sources[key]?[.network] ?? []
                items[index].userAgents = sources[key]?[.userAgent] ?? []
            }
            return items.sorted { ($0.appDisplayName.lowercased(), $0.created, $0.keyId) < ($1.appDisplayName.lowercased(), $1.created, $1.keyId) }
        }
    }

    private static func usageCredential(_ row: any SQLRow) throws -> UsageSummary.Credential? {
        guard let type = CredentialType(rawValue: try row.string("credential_type")) else { return nil }
        return UsageSummary.Credential(appId: try row.string("app_id"), type: type, id: try row.string("credential_id"))
    }

    /// The tenant's applications and managed identities, as the reports name them, by app id.
    public func reportedApps(tenantId: String) async throws -> [String: ReportedApp] {
        try await read { database in
            var apps: [String: ReportedApp] = [:]
            for row in try await database.raw("SELECT app_id, display_name, kind FROM applications WHERE tenant_id = \(bind: tenantId)").all() {
                let app = ReportedApp(
                    appId: try row.string("app_id"), displayName: try row.string("display_name"),
                    kind: PrincipalKind(rawValue: try row.string("kind")) ?? .application)
                apps[app.appId] = app
            }
            return apps
        }
    }

    /// Successful sign-ins per app and UTC day, secret and secretless, for the days from `start`
    /// up to (not including) `end`.
    public func dailySignIns(tenantId: String, from start: Date, to end: Date) async throws -> [(day: Date, appId: String, counts: SecretlessShare.Counts)] {
        try await read { database in
            try await database.raw("""
                SELECT day, app_id, secret_sign_ins, secretless_sign_ins FROM app_daily_sign_ins
                WHERE tenant_id = \(bind: tenantId) AND day >= \(bind: start.epochMilliseconds) AND day < \(bind: end.epochMilliseconds)
                """).all().map { row in
                (try row.date("day"), try row.string("app_id"),
                 SecretlessShare.Counts(secret: Int(try row.int64("secret_sign_ins")), secretless: Int(try row.int64("secretless_sign_ins"))))
            }
        }
    }

    /// How many client secrets that could still sign in each application of the tenant has, by app id.
    public func enabledSecretCounts(tenantId: String, now: Date) async throws -> [String: Int] {
        try await read { database in
            var counts: [String: Int] = [:]
            for row in try await database.raw("""
                SELECT a.app_id, COUNT(*) AS secrets FROM password_credentials p JOIN applications a ON a.object_id = p.application_id
                WHERE a.tenant_id = \(bind: tenantId) AND p.revoked_at IS NULL AND p.disabled_at IS NULL AND p.end_at > \(bind: now.epochMilliseconds)
                GROUP BY a.app_id
                """).all() {
                counts[try row.string("app_id")] = Int(try row.int64("secrets"))
            }
            return counts
        }
    }
}
