import Foundation
import SQLKit
import SigilCore

extension Store {
    /// How far back a scanner's last report counts.
    public static let scannerLookBack: TimeInterval = 30 * 86_400

    /// The facts the security assessment scores, for the tenant at `now`.
    public func postureFacts(tenantId: String, now: Date) async throws -> PostureFacts {
        let tomorrow = UsageSummary.day(of: now).addingTimeInterval(86_400)
        let clients = try await applicationStages(tenantId: tenantId, from: tomorrow.addingTimeInterval(-30 * 86_400), to: tomorrow, now: now)
        let policies = try await conditionalAccessPolicies(tenantId: tenantId)
        let roles = Dictionary(try await self.roles(tenantId: tenantId).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let assignments = try await roleAssignments(tenantId: tenantId)
        let defaultPolicyBlocksSecrets = try await defaultAppManagementPolicy(tenantId: tenantId)?.blocksSecrets ?? false
        return try await read { database in
            let rotating = try await database.raw("""
                SELECT DISTINCT a.display_name FROM vault_secret_rotations r JOIN applications a ON a.object_id = r.application_id
                WHERE a.tenant_id = \(bind: tenantId)
                """).all().map { try $0.string("display_name") }
            var names: [String: (name: String, appId: String)] = [:]
            for row in try await database.raw("""
                SELECT DISTINCT a.object_id, a.display_name, a.app_id FROM directory_role_assignments r
                JOIN applications a ON a.object_id = r.principal_app_id WHERE a.tenant_id = \(bind: tenantId)
                """).all() {
                names[try row.string("object_id")] = (try row.string("display_name"), try row.string("app_id"))
            }
            func principals(_ matching: (RoleAssignment, DirectoryRole) -> Bool) -> [(name: String, appId: String)] {
                let matched = Set(assignments.filter { assignment in roles[assignment.roleId].map { matching(assignment, $0) } ?? false }.map(\.principalObjectId))
                return matched.compactMap { names[$0] }.sorted { $0.name < $1.name }
            }
            let since = now.addingTimeInterval(-Self.scannerLookBack).epochMilliseconds
            let scanners = principals { _, role in role.permissions.contains(.secretScanningReport) && role.id != DirectoryRole.administratorId }
            // A scanner shows it runs by a leak report or bypass, or by signing in (each CI run
            // gets a token, even when it finds nothing to report).
            let lastReport = try await database.raw("""
                SELECT MAX(time) AS last FROM audit_events WHERE tenant_id = \(bind: tenantId)
                AND action IN ('secretScan.bypass', 'application.passwordCredential.revoke') AND time >= \(bind: since)
                """).first()?.optionalDate("last")
            var lastSignIn: Date?
            if !scanners.isEmpty {
                lastSignIn = try await database.raw("""
                    SELECT MAX(last_used) AS last FROM credential_usage WHERE tenant_id = \(bind: tenantId)
                    AND app_id IN (\(binds: scanners.map(\.appId))) AND last_used >= \(bind: since)
                    """).first()?.optionalDate("last")
            }
            let subscriptions = try await database.raw("SELECT COUNT(*) AS n FROM alert_subscriptions WHERE tenant_id = \(bind: tenantId)")
                .first()?.int64("n") ?? 0
            return PostureFacts(
                applications: clients.count, applicationsWithSecrets: clients.filter { $0.enabledSecrets > 0 }.map(\.displayName),
                applicationsRotating: rotating,
                defaultPolicyBlocksSecrets: defaultPolicyBlocksSecrets,
                policiesCoveringAll: policies.filter { $0.state == .enabled && $0.includeServicePrincipals.contains(ConditionalAccessPolicy.all) }
                    .map(\.displayName),
                scannerPrincipals: scanners.map(\.name),
                lastScannerActivity: [lastReport, lastSignIn].compactMap { $0 }.max(),
                tenantWideRotators: principals { assignment, role in role.id == DirectoryRole.credentialRotatorId && assignment.scope == .tenant }
                    .map(\.name),
                alertSubscriptions: Int(subscriptions))
        }
    }

    /// Records the day's score (the last assessment of the day wins) and returns the scores of the
    /// last `days` days, oldest first.
    public func recordPostureScore(tenantId: String, score: Int, items: JSONValue, now: Date, days: Int) async throws -> [(day: Date, score: Int)] {
        let day = UsageSummary.day(of: now)
        try await transaction(changesDirectory: false) { database in
            try await database.raw("""
                INSERT INTO posture_scores (tenant_id, day, score, items) VALUES (\(bind: tenantId), \(bind: day.epochMilliseconds), \(bind: Int64(score)), \(bind: items.serialized()))
                ON CONFLICT (tenant_id, day) DO UPDATE SET score = excluded.score, items = excluded.items
                """).run()
        }
        return try await read { database in
            try await database.raw("""
                SELECT day, score FROM posture_scores WHERE tenant_id = \(bind: tenantId)
                AND day > \(bind: day.addingTimeInterval(-Double(days) * 86_400).epochMilliseconds) AND day <= \(bind: day.epochMilliseconds)
                ORDER BY day
                """).all().map { (try $0.date("day"), Int(try $0.int64("score"))) }
        }
    }

    /// Tenants with no posture score for the UTC day of `now`.
    public func tenantsWithoutPostureScore(now: Date) async throws -> [String] {
        try await read { database in
            try await database.raw("""
                SELECT id FROM tenants WHERE id NOT IN (SELECT tenant_id FROM posture_scores WHERE day = \(bind: UsageSummary.day(of: now).epochMilliseconds))
                ORDER BY id
                """).all().map { try $0.string("id") }
        }
    }
}
