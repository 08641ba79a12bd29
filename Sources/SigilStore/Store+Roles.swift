import Foundation
import SQLKit
import SigilCore

extension Store {
    // MARK: Role definitions

    /// The tenant's roles: the built-in ones, then its custom roles by name.
    public func roles(tenantId: String) async throws -> [DirectoryRole] {
        DirectoryRole.builtIn + (try await read { database in
            try await database.raw("SELECT * FROM directory_roles WHERE tenant_id = \(bind: tenantId) ORDER BY name_key").all().map(Self.role)
        })
    }

    /// The roles a principal holds, each with its assignment's scope (no role is read for a
    /// principal that holds none, which is most token requests' case).
    public func heldRoles(tenantId: String, principalObjectId: String) async throws -> [(role: DirectoryRole, scope: RoleScope)] {
        let assignments = try await roleAssignments(tenantId: tenantId, principalObjectId: principalObjectId)
        guard !assignments.isEmpty else { return [] }
        let known = Dictionary(uniqueKeysWithValues: try await roles(tenantId: tenantId).map { ($0.id, $0) })
        return assignments.compactMap { assignment in known[assignment.roleId].map { ($0, assignment.scope) } }
    }

    /// What a principal may do: the permissions of each role it holds, at each assignment's scope.
    public func roleGrants(tenantId: String, principalObjectId: String) async throws -> RoleGrants {
        RoleGrants(try await heldRoles(tenantId: tenantId, principalObjectId: principalObjectId).map { ($0.role.permissions, $0.scope) })
    }

    public func createRole(_ role: DirectoryRole, audit: AuditEvent) async throws {
        guard let tenantId = role.tenantId else { preconditionFailure("built-in roles are not stored") }
        try await transaction(changesDirectory: false) { database in
            do {
                try await database.raw("""
                    INSERT INTO directory_roles (id, tenant_id, display_name, name_key, description, permissions, created_at)
                    VALUES (\(bind: role.id), \(bind: tenantId), \(bind: role.displayName), \(bind: role.displayName.lowercased()),
                        \(bind: role.description), \(bind: role.permissions.map(\.rawValue).sorted().joined(separator: " ")),
                        \(bind: (role.createdAt ?? Date()).epochMilliseconds))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("A role named '\(role.displayName)' exists already; pick another name")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    static func role(_ row: any SQLRow) throws -> DirectoryRole {
        DirectoryRole(
            id: try row.string("id"), tenantId: try row.string("tenant_id"), displayName: try row.string("display_name"),
            description: try row.string("description"),
            permissions: Set(try row.string("permissions").split(separator: " ").compactMap { AdminPermission(rawValue: String($0)) }),
            createdAt: try row.date("created_at"))
    }

    // MARK: Role assignments

    /// Assignments in the tenant, optionally only those of one principal (its application object id).
    public func roleAssignments(tenantId: String, principalObjectId: String? = nil) async throws -> [RoleAssignment] {
        try await read { database in
            let filter: SQLQueryString = principalObjectId.map { "AND principal_app_id = \(bind: $0)" } ?? ""
            return try await database.raw("""
                SELECT * FROM directory_role_assignments WHERE tenant_id = \(bind: tenantId) \(filter) ORDER BY created_at, id
                """).all().map(Self.roleAssignment)
        }
    }

    /// Assigns a role. The principal must still exist when the row is written (it may be deleted
    /// between the lookup and here); the same role at the same scope twice is a conflict.
    public func assignRole(_ assignment: RoleAssignment, audit: AuditEvent) async throws {
        try await transaction { database in
            let principal = try await database.raw("""
                SELECT object_id FROM applications WHERE object_id = \(bind: assignment.principalObjectId) AND tenant_id = \(bind: assignment.tenantId)
                """).first()
            guard principal != nil else {
                throw StoreError.notFound("The principal was deleted; nothing was assigned")
            }
            if case .application(let objectId) = assignment.scope {
                guard try await database.raw("SELECT object_id FROM applications WHERE object_id = \(bind: objectId)").first() != nil else {
                    throw StoreError.notFound("The application the assignment is scoped to was deleted; nothing was assigned")
                }
            }
            do {
                try await Self.insertRoleAssignment(assignment, on: database)
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("The principal holds that role at that scope already")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    public static func insertRoleAssignment(_ assignment: RoleAssignment, on database: any SQLDatabase) async throws {
        try await database.raw("""
            INSERT INTO directory_role_assignments (id, tenant_id, role_id, principal_app_id, scope, created_at)
            VALUES (\(bind: assignment.id), \(bind: assignment.tenantId), \(bind: assignment.roleId), \(bind: assignment.principalObjectId),
                \(bind: assignment.scope.directoryScopeId), \(bind: assignment.createdAt.epochMilliseconds))
            """).run()
    }

    /// Removes an assignment. `check` sees it and how many other tenant-wide assignments of the
    /// same role remain, with those rows locked (PostgreSQL) or the writer held (SQLite), so two
    /// removals cannot both pass a "not the last Administrator" check.
    @discardableResult
    public func unassignRole(
        id: String, tenantId: String, check: (RoleAssignment, _ otherTenantWide: Int) throws -> Void, audit: (RoleAssignment) -> AuditEvent
    ) async throws -> RoleAssignment {
        try await transaction { database in
            guard let row = try await database.raw(
                "SELECT * FROM directory_role_assignments WHERE id = \(bind: id) AND tenant_id = \(bind: tenantId)"
            ).first() else {
                throw StoreError.notFound("There is no role assignment '\(id.prefix(64))' in this tenant; `sigil role list` shows them")
            }
            let assignment = try Self.roleAssignment(row)
            let lock: SQLQueryString = dialect == .postgres ? " FOR UPDATE" : ""
            let others = try await database.raw("""
                SELECT id FROM directory_role_assignments
                WHERE tenant_id = \(bind: tenantId) AND role_id = \(bind: assignment.roleId) AND scope = '/'\(lock)
                """).all().filter { (try? $0.string("id")) != id }.count
            try check(assignment, others)
            try await database.raw("DELETE FROM directory_role_assignments WHERE id = \(bind: id)").run()
            try await Self.insertAudit(audit(assignment), on: database)
            return assignment
        }
    }

    static func roleAssignment(_ row: any SQLRow) throws -> RoleAssignment {
        let scopeId = try row.string("scope")
        // Never widen an unreadable scope to the tenant.
        guard let scope = RoleScope(directoryScopeId: scopeId) else {
            throw StoreError.unavailable("role assignment \(try row.string("id")) has an unknown scope '\(scopeId)'")
        }
        return RoleAssignment(
            id: try row.string("id"), tenantId: try row.string("tenant_id"), roleId: try row.string("role_id"),
            principalObjectId: try row.string("principal_app_id"), scope: scope,
            createdAt: try row.date("created_at"))
    }
}
