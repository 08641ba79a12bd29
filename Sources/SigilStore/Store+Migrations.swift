import Foundation
import SQLKit
import SigilCore

extension Store {
    // MARK: Evidence for a plan

    /// Where hosts' agents and federated credentials of the tenant were seen signing in, among
    /// `networks` (from the usage summary, not the log).
    public func secretlessSightings(tenantId: String, networks: [String]) async throws
        -> (hosts: [MigrationProposal.HostSighting], federated: [MigrationProposal.FederatedSighting]) {
        guard !networks.isEmpty else { return ([], []) }
        return try await read { database in
            let list = SQLList(networks.map { SQLBind($0) })
            let sources: SQLQueryString = """
                credential_usage_sources s JOIN credential_usage u
                    ON u.app_id = s.app_id AND u.credential_type = s.credential_type AND u.credential_id = s.credential_id
                """
            let hosts = try await database.raw("""
                SELECT DISTINCT s.value AS network, h.id AS host_id, h.name AS host_name FROM \(sources)
                JOIN applications a ON a.app_id = s.app_id JOIN key_credentials k ON k.kid = s.credential_id
                JOIN hosts h ON h.system_identity_id = k.application_id AND h.tenant_id = a.tenant_id
                WHERE u.tenant_id = \(bind: tenantId) AND s.credential_type = 'managedIdentity' AND s.kind = 'network' AND s.value IN (\(list))
                ORDER BY h.name
                """).all().map {
                MigrationProposal.HostSighting(network: try $0.string("network"), hostId: try $0.string("host_id"), hostName: try $0.string("host_name"))
            }
            let federated = try await database.raw("""
                SELECT DISTINCT s.value AS network, f.issuer, f.subject, a.display_name FROM \(sources)
                JOIN federated_credentials f ON f.id = s.credential_id JOIN applications a ON a.object_id = f.application_id
                WHERE u.tenant_id = \(bind: tenantId) AND s.credential_type = 'federatedIdentityCredential' AND s.kind = 'network' AND s.value IN (\(list))
                ORDER BY a.display_name
                """).all().map {
                MigrationProposal.FederatedSighting(
                    network: try $0.string("network"), issuer: try $0.string("issuer"), subject: try $0.optionalString("subject"),
                    appDisplayName: try $0.string("display_name"))
            }
            return (hosts, federated)
        }
    }

    // MARK: Migrations

    public func appMigration(applicationId: String) async throws -> AppMigration? {
        try await read { database in
            try await database.raw("SELECT * FROM app_migrations WHERE application_id = \(bind: applicationId)").first().map(Self.appMigration)
        }
    }

    static func appMigration(_ row: any SQLRow) throws -> AppMigration {
        let replacement = try JSONParser.parseObject(Array(try row.string("replacement").utf8))
        return AppMigration(
            id: try row.string("id"), tenantId: try row.string("tenant_id"), applicationId: try row.string("application_id"),
            appId: replacement["forAppId"]?.stringValue ?? "", state: AppMigration.State(rawValue: try row.string("state")) ?? .applied,
            replacement: AppMigration.Replacement(
                kind: MigrationProposal.Kind(rawValue: replacement["kind"]?.stringValue ?? "") ?? .certificate,
                appId: replacement["appId"]?.stringValue ?? "",
                credentialType: CredentialType(rawValue: replacement["credentialType"]?.stringValue ?? "") ?? .certificate,
                credentialId: replacement["credentialId"]?.stringValue, displayName: replacement["displayName"]?.stringValue ?? ""),
            secretKeyIds: (try JSONParser.parse(Array(try row.string("secret_key_ids").utf8))).arrayValue?.compactMap(\.stringValue) ?? [],
            appliedAt: try row.date("applied_at"), finishedAt: try row.optionalDate("finished_at"), deleteAfter: try row.optionalDate("delete_after"))
    }

    static func replacementJSON(_ migration: AppMigration) -> String {
        let replacement = migration.replacement
        return JSONValue.object([
            "forAppId": .string(migration.appId), "kind": .string(replacement.kind.rawValue), "appId": .string(replacement.appId),
            "credentialType": .string(replacement.credentialType.rawValue),
            "credentialId": replacement.credentialId.map(JSONValue.string) ?? .null, "displayName": .string(replacement.displayName),
        ]).serialized()
    }

    /// Records an applied migration; replaces one that was rolled back, and refuses (`conflict`)
    /// while another is applied or finished.
    public func recordMigrationApplied(_ migration: AppMigration, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            if let existing = try await database.raw("SELECT state FROM app_migrations WHERE application_id = \(bind: migration.applicationId)").first() {
                let state = try existing.string("state")
                guard state == AppMigration.State.rolledBack.rawValue || state == AppMigration.State.deleted.rawValue else {
                    throw StoreError.conflict("app '\(migration.appId)' already has a migration that is \(state); finish it or roll it back first")
                }
                try await database.raw("DELETE FROM app_migrations WHERE application_id = \(bind: migration.applicationId)").run()
            }
            try await database.raw("""
                INSERT INTO app_migrations (id, tenant_id, application_id, state, replacement, secret_key_ids, applied_at, updated_at)
                VALUES (\(bind: migration.id), \(bind: migration.tenantId), \(bind: migration.applicationId), \(bind: migration.state.rawValue),
                    \(bind: Self.replacementJSON(migration)), \(bind: JSONValue.array(migration.secretKeyIds.map(JSONValue.string)).serialized()),
                    \(bind: migration.appliedAt.epochMilliseconds), \(bind: migration.appliedAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Moves a migration from `from` to `to` and disables (finish) or enables (rollback) its
    /// secrets, all in one transaction; `conflict` when another request moved it first.
    public func moveMigration(
        _ migration: AppMigration, from: [AppMigration.State], to: AppMigration.State, disableSecrets: Bool, deleteAfter: Date?,
        now: Date, audit: AuditEvent
    ) async throws {
        try await transaction { database in
            let moved = try await database.raw("""
                UPDATE app_migrations SET state = \(bind: to.rawValue), updated_at = \(bind: now.epochMilliseconds),
                    finished_at = \(bind: to == .finished ? now.epochMilliseconds : migration.finishedAt?.epochMilliseconds),
                    delete_after = \(bind: deleteAfter?.epochMilliseconds)
                WHERE id = \(bind: migration.id) AND state IN (\(SQLList(from.map { SQLBind($0.rawValue) }))) RETURNING id
                """).all()
            guard !moved.isEmpty else { throw StoreError.conflict("the migration of app '\(migration.appId)' changed meanwhile; look again with sigil migrate status") }
            let secrets = migration.secretKeyIds.map { CredentialReference(kind: .password, applicationId: migration.applicationId, id: $0) }
            try await Self.setCredentialsDisabled(secrets, disabled: disableSecrets, at: now, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Deletes the disabled secrets of a finished migration and marks it deleted.
    public func deleteMigratedSecrets(_ migration: AppMigration, now: Date, audit: AuditEvent) async throws {
        try await transaction { database in
            let moved = try await database.raw("""
                UPDATE app_migrations SET state = 'deleted', updated_at = \(bind: now.epochMilliseconds)
                WHERE id = \(bind: migration.id) AND state = 'finished' RETURNING id
                """).all()
            guard !moved.isEmpty else { throw StoreError.conflict("the migration of app '\(migration.appId)' is not finished, so its secrets are not deleted") }
            try await database.raw("""
                DELETE FROM password_credentials WHERE application_id = \(bind: migration.applicationId)
                AND key_id IN (\(SQLList(migration.secretKeyIds.map { SQLBind($0) }))) AND disabled_at IS NOT NULL
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Finished migrations whose retention ended by `now`, oldest first.
    public func migrationsDueForDeletion(now: Date, limit: Int) async throws -> [AppMigration] {
        try await read { database in
            try await database.raw("""
                SELECT * FROM app_migrations WHERE state = 'finished' AND delete_after <= \(bind: now.epochMilliseconds)
                ORDER BY delete_after LIMIT \(bind: limit)
                """).all().map(Self.appMigration)
        }
    }

    /// Sign-ins of `appIds` since `since`, per credential and result: what `sigil migrate status` shows.
    public func signInsPerCredential(tenantId: String, appIds: [String], since: Date) async throws
        -> [(appId: String, type: String?, credentialId: String?, succeeded: Bool, count: Int, last: Date)] {
        try await read { database in
            try await database.raw("""
                SELECT app_id, credential_type, credential_id, succeeded, COUNT(*) AS sign_ins, MAX(time) AS last_time FROM sign_ins
                WHERE tenant_id = \(bind: tenantId) AND app_id IN (\(SQLList(appIds.map { SQLBind($0) }))) AND time >= \(bind: since.epochMilliseconds)
                GROUP BY app_id, credential_type, credential_id, succeeded ORDER BY app_id, credential_type, credential_id, succeeded
                """).all().map { row in
                (try row.string("app_id"), try row.optionalString("credential_type"), try row.optionalString("credential_id"),
                 try row.bool("succeeded"), Int(try row.int64("sign_ins")), try row.date("last_time"))
            }
        }
    }
}
