import Foundation
import SQLKit
import SigilCore

/// Sees the app management policy in force for an application (nil: none) and the app's
/// creation time, inside the transaction that adds a credential; refuses by throwing.
public typealias PolicyEnforcement = (_ policy: AppManagementPolicy?, _ appCreatedAt: Date) throws -> Void

extension Store {
    // MARK: Policies

    /// The tenant's default policy.
    public func defaultAppManagementPolicy(tenantId: String) async throws -> AppManagementPolicy? {
        try await appManagementPolicy(tenantId: tenantId, reference: AppManagementPolicy.defaultPolicyId)
    }

    /// A policy by id or display name (case-insensitive); the default is found by its id.
    public func appManagementPolicy(tenantId: String, reference: String) async throws -> AppManagementPolicy? {
        try await read { database in
            try await database.raw("""
                SELECT * FROM app_management_policies WHERE tenant_id = \(bind: tenantId)
                    AND (id = \(bind: reference) OR display_name_key = \(bind: reference.lowercased()))
                ORDER BY CASE WHEN id = \(bind: reference) THEN 0 ELSE 1 END LIMIT 1
                """).first().map(Self.appManagementPolicy)
        }
    }

    /// The tenant's per-app policies (not the default), by name.
    public func appManagementPolicies(tenantId: String) async throws -> [AppManagementPolicy] {
        try await read { database in
            try await database.raw("""
                SELECT * FROM app_management_policies WHERE tenant_id = \(bind: tenantId) AND id <> \(bind: AppManagementPolicy.defaultPolicyId)
                ORDER BY display_name_key
                """).all().map(Self.appManagementPolicy)
        }
    }

    /// A policy row. Restrictions that no longer read fail closed: nothing is judged against a
    /// policy that silently lost its restrictions.
    static func appManagementPolicy(_ row: any SQLRow) throws -> AppManagementPolicy {
        let id = try row.string("id")
        let restrictions: [CredentialRestriction]
        do {
            restrictions = try AppManagementPolicyJSON.parse(try JSONParser.parse(Array(try row.string("restrictions").utf8)), field: "restrictions")
        } catch {
            throw StoreError.unavailable("the stored restrictions of app management policy \(id) cannot be read: \(error)")
        }
        return AppManagementPolicy(
            id: id, displayName: try row.string("display_name"), description: try row.string("description"),
            isEnabled: try row.bool("is_enabled"), restrictions: restrictions)
    }

    /// Inserts a policy inside a caller's transaction (a new tenant's default is written with the tenant).
    public static func insertAppManagementPolicy(_ policy: AppManagementPolicy, tenantId: String, on database: any SQLDatabase) async throws {
        let now = Date().epochMilliseconds
        do {
            try await database.raw("""
                INSERT INTO app_management_policies
                    (tenant_id, id, display_name, display_name_key, description, is_enabled, restrictions, created_at, updated_at)
                VALUES (\(bind: tenantId), \(bind: policy.id), \(bind: policy.displayName), \(bind: policy.displayName.lowercased()),
                    \(bind: policy.description), \(bind: policy.isEnabled ? 1 : 0),
                    \(bind: AppManagementPolicyJSON.restrictions(policy.restrictions).serialized()), \(bind: now), \(bind: now))
                """).run()
        } catch where isUniqueViolation(error) {
            throw StoreError.conflict("an app management policy named '\(policy.displayName)' already exists in this tenant")
        }
    }

    public func createAppManagementPolicy(_ policy: AppManagementPolicy, tenantId: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            try await Self.insertAppManagementPolicy(policy, tenantId: tenantId, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Replaces a policy's name, description, state and restrictions.
    public func updateAppManagementPolicy(_ policy: AppManagementPolicy, tenantId: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            try await Self.updateAppManagementPolicy(policy, tenantId: tenantId, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    static func updateAppManagementPolicy(_ policy: AppManagementPolicy, tenantId: String, on database: any SQLDatabase) async throws {
        do {
            try await database.raw("""
                UPDATE app_management_policies SET display_name = \(bind: policy.displayName),
                    display_name_key = \(bind: policy.displayName.lowercased()), description = \(bind: policy.description),
                    is_enabled = \(bind: policy.isEnabled ? 1 : 0),
                    restrictions = \(bind: AppManagementPolicyJSON.restrictions(policy.restrictions).serialized()),
                    updated_at = \(bind: Date().epochMilliseconds)
                WHERE tenant_id = \(bind: tenantId) AND id = \(bind: policy.id)
                """).run()
        } catch where isUniqueViolation(error) {
            throw StoreError.conflict("an app management policy named '\(policy.displayName)' already exists in this tenant")
        }
    }

    /// Deletes a per-app policy; refused while any application is assigned it.
    public func deleteAppManagementPolicy(id: String, tenantId: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let holders = try await database.raw("""
                SELECT a.display_name FROM app_management_policy_assignments p JOIN applications a ON a.object_id = p.application_id
                WHERE p.tenant_id = \(bind: tenantId) AND p.policy_id = \(bind: id) ORDER BY a.display_name_key
                """).all().map { try $0.string("display_name") }
            guard holders.isEmpty else {
                throw StoreError.conflict(
                    "the policy is assigned to \(holders.joined(separator: ", ")); unassign it first (sigil policy app unassign --app APP)")
            }
            try await database.raw("DELETE FROM app_management_policies WHERE tenant_id = \(bind: tenantId) AND id = \(bind: id)").run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    // MARK: Assignments

    /// Assigns `policyId` to the application, replacing the policy it had.
    public func assignAppManagementPolicy(_ policyId: String, applicationId: String, tenantId: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            try await Self.assignAppManagementPolicy(policyId, applicationId: applicationId, tenantId: tenantId, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    static func assignAppManagementPolicy(_ policyId: String, applicationId: String, tenantId: String, on database: any SQLDatabase) async throws {
        try await database.raw("""
            INSERT INTO app_management_policy_assignments (application_id, tenant_id, policy_id, created_at)
            VALUES (\(bind: applicationId), \(bind: tenantId), \(bind: policyId), \(bind: Date().epochMilliseconds))
            ON CONFLICT (application_id) DO UPDATE SET policy_id = excluded.policy_id, created_at = excluded.created_at
            """).run()
    }

    /// Removes the application's own policy (the default applies again); `notFound` when it has none.
    public func unassignAppManagementPolicy(applicationId: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let removed = try await database.raw("""
                DELETE FROM app_management_policy_assignments WHERE application_id = \(bind: applicationId) RETURNING policy_id
                """).all()
            guard !removed.isEmpty else { throw StoreError.notFound("the application has no app management policy of its own; the default applies to it") }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Which policy each application of the tenant is assigned (application objectId → policy id).
    public func appManagementPolicyAssignments(tenantId: String) async throws -> [String: String] {
        try await read { database in
            let rows = try await database.raw("""
                SELECT application_id, policy_id FROM app_management_policy_assignments WHERE tenant_id = \(bind: tenantId)
                """).all()
            return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.string("application_id"), try $0.string("policy_id")) })
        }
    }

    /// The policy in force for an application: its own when it has an enabled one, else its tenant's default.
    public func appManagementPolicyInForce(applicationId: String) async throws -> AppManagementPolicy? {
        try await read { database in try await Self.policyInForce(applicationId: applicationId, on: database)?.policy }
    }

    static func policyInForce(applicationId: String, on database: any SQLDatabase) async throws -> (policy: AppManagementPolicy?, appCreatedAt: Date)? {
        guard let app = try await database.raw("SELECT tenant_id, created_at FROM applications WHERE object_id = \(bind: applicationId)").first() else {
            return nil
        }
        let tenantId = try app.string("tenant_id")
        let assigned = try await database.raw("""
            SELECT p.* FROM app_management_policy_assignments a
                JOIN app_management_policies p ON p.tenant_id = a.tenant_id AND p.id = a.policy_id
            WHERE a.application_id = \(bind: applicationId)
            """).first().map(Self.appManagementPolicy)
        let tenantDefault = try await database.raw("""
            SELECT * FROM app_management_policies WHERE tenant_id = \(bind: tenantId) AND id = \(bind: AppManagementPolicy.defaultPolicyId)
            """).first().map(Self.appManagementPolicy)
        return (AppManagementPolicy.inForce(assigned: assigned, tenantDefault: tenantDefault), try app.date("created_at"))
    }

    /// Runs `enforce` with the policy in force for the application, inside the caller's transaction.
    static func enforcePolicy(applicationId: String, _ enforce: PolicyEnforcement, on database: any SQLDatabase) async throws {
        guard let (policy, createdAt) = try await policyInForce(applicationId: applicationId, on: database) else {
            throw StoreError.notFound("the application no longer exists")
        }
        try enforce(policy, createdAt)
    }

    /// Runs `enforce` with the policy in force for the application now, without adding anything:
    /// what a credential added later would be told (the addition checks again).
    public func checkPolicy(applicationId: String, _ enforce: PolicyEnforcement) async throws {
        try await read { database in try await Self.enforcePolicy(applicationId: applicationId, enforce, on: database) }
    }

    /// Every key credential of the tenant's applications (for the policy report).
    public func keyCredentials(tenantId: String) async throws -> [KeyCredential] {
        try await read { database in
            try await database.raw("""
                SELECT k.* FROM key_credentials k JOIN applications a ON a.object_id = k.application_id
                WHERE a.tenant_id = \(bind: tenantId) AND a.kind = 'application' ORDER BY k.start_at
                """).all().map(Self.keyCredential)
        }
    }
}
