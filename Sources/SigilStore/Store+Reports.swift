import Foundation
import SQLKit
import SigilCore

extension Store {
    /// Every credential of the tenant's applications and managed identities (of those with
    /// `appIds` only, when given), with its use from the usage summary: a handful of queries
    /// whatever the size of the sign-in log.
    public func credentialInventory(tenantId: String, appIds: [String]? = nil, now: Date) async throws -> [InventoryItem] {
        try await read { database in
            func only(_ column: String) -> SQLQueryString {
                appIds.map { "AND \(unsafeRaw: column) IN (\(SQLList($0.map { SQLBind($0) })))" } ?? ""
            }
            // Only the columns the inventory shows: a certificate's PEM, a secret's hash and the
            // like are never read.
            func rows(_ columns: String, from table: String) async throws -> [(any SQLRow, ReportedApp)] {
                try await database.raw("""
                    SELECT \(unsafeRaw: columns), a.app_id AS owner_app_id, a.display_name AS owner_name, a.kind AS owner_kind
                    FROM \(unsafeRaw: table) c JOIN applications a ON a.object_id = c.application_id
                    WHERE a.tenant_id = \(bind: tenantId) \(only("a.app_id"))
                    """).all().map { row in
                    (row, ReportedApp(
                        appId: try row.string("owner_app_id"), displayName: try row.string("owner_name"),
                        kind: PrincipalKind(rawValue: try row.string("owner_kind")) ?? .application))
                }
            }
            var items = try await rows("c.key_id, c.display_name, c.start_at, c.end_at, c.revoked_at, c.disabled_at", from: "password_credentials").map {
                row, owner in
                InventoryItem(
                    .secret, owner: owner, keyId: try row.string("key_id"), displayName: try row.string("display_name"),
                    created: try row.date("start_at"), expires: try row.date("end_at"), revokedAt: try row.optionalDate("revoked_at"),
                    disabledAt: try row.optionalDate("disabled_at"), now: now)
            }
            items += try await rows("c.key_id, c.kind, c.display_name, c.kid, c.x5t, c.start_at, c.end_at, c.disabled_at", from: "key_credentials").map {
                row, owner in
                InventoryItem(
                    .key(KeyCredential.Kind(rawValue: try row.string("kind")) ?? .jwk, x5t: try row.optionalString("x5t"), kid: try row.string("kid")),
                    owner: owner, keyId: try row.string("key_id"), displayName: try row.string("display_name"),
                    created: try row.date("start_at"), expires: try row.optionalDate("end_at"), revokedAt: nil,
                    disabledAt: try row.optionalDate("disabled_at"), now: now)
            }
            items += try await rows("c.id, c.name, c.created_at, c.disabled_at", from: "federated_credentials").map { row, owner in
                InventoryItem(
                    .federated, owner: owner, keyId: try row.string("id"), displayName: try row.string("name"),
                    created: try row.date("created_at"), expires: nil, revokedAt: nil, disabledAt: try row.optionalDate("disabled_at"), now: now)
            }

            // Each used credential with its sources, most used first, aggregated by the database in
            // one join: one row per credential whatever the number of sources. Header values cannot
            // hold a line feed, nor can networks, so it separates them.
            var uses: [UsageSummary.Credential: (last: Date, signIns: Int, networks: [String], userAgents: [String])] = [:]
            func sources(_ kind: UsageSummary.SourceKind) -> SQLQueryString {
                "string_agg(CASE WHEN s.kind = \(bind: kind.rawValue) THEN s.value END, \(bind: "\n") ORDER BY s.sign_ins DESC, s.value)"
            }
            for row in try await database.raw("""
                SELECT u.app_id, u.credential_type, u.credential_id, u.last_used, u.sign_ins,
                    \(sources(.network)) AS networks, \(sources(.userAgent)) AS user_agents
                FROM credential_usage u LEFT JOIN credential_usage_sources s
                    ON s.app_id = u.app_id AND s.credential_type = u.credential_type AND s.credential_id = u.credential_id
                WHERE u.tenant_id = \(bind: tenantId) \(only("u.app_id"))
                GROUP BY u.app_id, u.credential_type, u.credential_id, u.last_used, u.sign_ins
                """).all() {
                guard let key = try Self.usageCredential(row) else { continue }
                func list(_ column: String) throws -> [String] { try row.optionalString(column)?.split(separator: "\n").map(String.init) ?? [] }
                uses[key] = (try row.date("last_used"), Int(try row.int64("sign_ins")), try list("networks"), try list("user_agents"))
            }
            for index in items.indices {
                let key = items[index].usageKey
                guard let use = uses[key] else { continue }
                items[index].lastUsed = use.last
                items[index].signIns = use.signIns
                items[index].networks = use.networks
                items[index].userAgents = use.userAgents
            }
            return items.map { ($0.appDisplayName.lowercased(), $0) }
                .sorted { ($0.0, $0.1.created, $0.1.keyId) < ($1.0, $1.1.created, $1.1.keyId) }
                .map(\.1)
        }
    }

    private static func usageCredential(_ row: any SQLRow) throws -> UsageSummary.Credential? {
        guard let type = CredentialType(rawValue: try row.string("credential_type")) else { return nil }
        return UsageSummary.Credential(appId: try row.string("app_id"), type: type, id: try row.string("credential_id"))
    }

    /// The tenant's secretless share over the UTC days from `start` up to (not including) `end`,
    /// and per day: two grouped queries over the per-app, per-day summary. An application is in the
    /// `secretless` stage when none of its successful sign-ins used a client secret; managed
    /// identities and deleted apps count in the sign-ins only.
    public func secretlessShare(tenantId: String, from start: Date, to end: Date) async throws -> SecretlessShare {
        try await read { database in
            let window: SQLQueryString = """
                tenant_id = \(bind: tenantId) AND day >= \(bind: start.epochMilliseconds) AND day < \(bind: end.epochMilliseconds)
                """
            func figures(_ row: any SQLRow) throws -> SecretlessShare.Figures {
                SecretlessShare.Figures(
                    signIns: Int(try row.int64("sign_ins")), secretlessSignIns: Int(try row.int64("secretless_sign_ins")),
                    apps: Int(try row.int64("apps")), secretlessApps: Int(try row.int64("secretless_apps")))
            }
            // SUM over BIGINT is NUMERIC on PostgreSQL: every total is cast back.
            let totals: SQLQueryString = """
                CAST(COALESCE(SUM(t.secret + t.secretless), 0) AS BIGINT) AS sign_ins, CAST(COALESCE(SUM(t.secretless), 0) AS BIGINT) AS secretless_sign_ins,
                CAST(COALESCE(SUM(CASE WHEN a.kind = 'application' THEN 1 ELSE 0 END), 0) AS BIGINT) AS apps,
                CAST(COALESCE(SUM(CASE WHEN a.kind = 'application' AND t.secret = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS secretless_apps
                """
            let whole = try await database.raw("""
                SELECT \(totals) FROM (
                    SELECT app_id, SUM(secret_sign_ins) AS secret, SUM(secretless_sign_ins) AS secretless FROM app_daily_sign_ins
                    WHERE \(window) GROUP BY app_id) t
                LEFT JOIN applications a ON a.app_id = t.app_id
                """).first()
            let days = try await database.raw("""
                SELECT t.day, \(totals) FROM (
                    SELECT day, app_id, secret_sign_ins AS secret, secretless_sign_ins AS secretless FROM app_daily_sign_ins WHERE \(window)) t
                LEFT JOIN applications a ON a.app_id = t.app_id
                GROUP BY t.day ORDER BY t.day
                """).all().map { SecretlessShare.Day(day: try $0.date("day"), figures: try figures($0)) }
            return SecretlessShare(
                window: try whole.map(figures) ?? SecretlessShare.Figures(signIns: 0, secretlessSignIns: 0, apps: 0, secretlessApps: 0), days: days)
        }
    }

    /// Each client application of the tenant with its successful sign-ins over the window and how
    /// many client secrets it still has that could sign in; one query. Managed identities are
    /// left out, and so are applications with neither credential nor sign-in (resources).
    public func applicationStages(tenantId: String, from start: Date, to end: Date, now: Date) async throws
        -> [(appId: String, displayName: String, counts: SecretlessShare.Counts, enabledSecrets: Int)] {
        try await read { database in
            try await database.raw("""
                SELECT a.app_id, a.display_name, CAST(COALESCE(t.secret, 0) AS BIGINT) AS secret, CAST(COALESCE(t.secretless, 0) AS BIGINT) AS secretless,
                    (SELECT COUNT(*) FROM password_credentials p WHERE p.application_id = a.object_id AND p.revoked_at IS NULL
                        AND p.disabled_at IS NULL AND p.end_at > \(bind: now.epochMilliseconds)) AS secrets
                FROM applications a LEFT JOIN (
                    SELECT app_id, SUM(secret_sign_ins) AS secret, SUM(secretless_sign_ins) AS secretless FROM app_daily_sign_ins
                    WHERE tenant_id = \(bind: tenantId) AND day >= \(bind: start.epochMilliseconds) AND day < \(bind: end.epochMilliseconds)
                    GROUP BY app_id) t ON t.app_id = a.app_id
                WHERE a.tenant_id = \(bind: tenantId) AND a.kind = 'application' AND (t.app_id IS NOT NULL
                    OR EXISTS (SELECT 1 FROM password_credentials p WHERE p.application_id = a.object_id)
                    OR EXISTS (SELECT 1 FROM key_credentials k WHERE k.application_id = a.object_id)
                    OR EXISTS (SELECT 1 FROM federated_credentials f WHERE f.application_id = a.object_id))
                ORDER BY a.display_name_key, a.app_id
                """).all().map { row in
                (try row.string("app_id"), try row.string("display_name"),
                 SecretlessShare.Counts(secret: Int(try row.int64("secret")), secretless: Int(try row.int64("secretless"))),
                 Int(try row.int64("secrets")))
            }
        }
    }
}
