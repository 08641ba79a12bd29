import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Admin roles (DESIGN §5): the built-in and custom role definitions, and their assignments to
/// principals at the tenant's or one application's scope. Paths and fields are Graph's
/// `roleManagement/directory`.
extension AdminAPI {

    var roleRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "roleManagement/directory/roleDefinitions", .rolesRead) { _, _, caller in
                .json(["value": .array(try await store.roles(tenantId: caller.tenant.id).map(AdminJSON.role))])
            },
            AdminRoute(.post, "roleManagement/directory/roleDefinitions", .rolesWrite, handler: createRole),
            AdminRoute(.get, "roleManagement/directory/roleDefinitions/{role}", .rolesRead) { _, context, caller in
                .json(AdminJSON.role(try await role(try Self.pathParameter(context, "role"), tenantId: caller.tenant.id)))
            },
            AdminRoute(.get, "roleManagement/directory/roleAssignments", .rolesRead, handler: listRoleAssignments),
            AdminRoute(.post, "roleManagement/directory/roleAssignments", .rolesWrite, handler: assignRole),
            AdminRoute(.delete, "roleManagement/directory/roleAssignments/{id}", .rolesWrite, handler: unassignRole),
        ]
    }

    /// A role by id or (case-insensitive) name.
    func role(_ reference: String, tenantId: String) async throws -> DirectoryRole {
        let all = try await store.roles(tenantId: tenantId)
        guard let role = all.first(where: { $0.id == reference || $0.displayName.lowercased() == reference.lowercased() }) else {
            throw AdminError.notFound("No role '\(OAuthError.quoted(reference))'; roles: \(all.map(\.displayName).joined(separator: ", ")).")
        }
        return role
    }

    /// What `principal` may do: the permissions of each role it holds, at each assignment's scope.
    func grants(for principal: AppRegistration) async throws -> RoleGrants {
        try await store.roleGrants(tenantId: principal.tenantId, principalObjectId: principal.objectId)
    }

    func createRole(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["displayName", "description", "rolePermissions", "isEnabled"])
        let name = try body.requiredString("displayName")
        try DirectoryRules.checkDisplayName(name)
        if DirectoryRole.builtIn.contains(where: { $0.displayName.lowercased() == name.lowercased() }) {
            throw AdminError.conflict("'\(name)' is a built-in role; give the custom role another name.")
        }
        let description = try body.string("description") ?? ""
        guard description.count <= 1024, !description.containsControlCharacters else {
            throw AdminError.badRequest("'description' may be at most 1024 characters, without control characters.", target: "description")
        }
        if let enabled = try body.bool("isEnabled"), !enabled {
            throw AdminError.badRequest("Custom roles are always enabled; leave isEnabled out or set it to true.", target: "isEnabled")
        }
        let role = DirectoryRole(
            id: Self.newId(), tenantId: caller.tenant.id, displayName: name, description: description,
            permissions: try DirectoryRole.permissions(named: try Self.allowedResourceActions(body)), createdAt: Date())
        let json = AdminJSON.role(role)
        try await store.createRole(role, audit: caller.audit("roleDefinition.create", targetType: "roleDefinition", targetId: role.id, after: json))
        return .json(json, status: .created, headers: [.location: "/admin/v1/roleManagement/directory/roleDefinitions/\(role.id)"])
    }

    /// Graph's `rolePermissions: [{allowedResourceActions: [...]}]`, flattened.
    static func allowedResourceActions(_ body: JSONBody) throws -> [String] {
        let shape = "'rolePermissions' must be an array of objects like {\"allowedResourceActions\": [\"applications.read\"]}."
        guard let entries = body.members["rolePermissions"]?.arrayValue, entries.count <= 16 else {
            throw AdminError.badRequest(shape, target: "rolePermissions")
        }
        var actions: [String] = []
        for entry in entries {
            guard let object = entry.objectValue, object.keys.allSatisfy({ $0 == "allowedResourceActions" }),
                let names = object["allowedResourceActions"]?.arrayValue, names.count <= 64
            else { throw AdminError.badRequest(shape, target: "rolePermissions") }
            for name in names {
                guard let text = name.stringValue else { throw AdminError.badRequest(shape, target: "rolePermissions") }
                actions.append(text)
            }
        }
        return actions
    }

    func listRoleAssignments(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let parameters = request.uri.queryParameters
        for (name, _) in parameters where name != "principalId" {
            throw AdminError.badRequest("Unknown query parameter '\(OAuthError.quoted(String(name)))'. Allowed: principalId.", target: String(name))
        }
        var principalObjectId: String?
        if let reference = parameters["principalId"].map(String.init) {
            principalObjectId = try await principal(reference, caller).objectId
        }
        let assignments = try await store.roleAssignments(tenantId: caller.tenant.id, principalObjectId: principalObjectId)
        return .json(["value": .array(try await describe(assignments, tenantId: caller.tenant.id))])
    }

    /// Assignments with the names of their role, principal and scope beside the ids.
    func describe(_ assignments: [RoleAssignment], tenantId: String) async throws -> [JSONValue] {
        let roles = Dictionary(uniqueKeysWithValues: try await store.roles(tenantId: tenantId).map { ($0.id, $0) })
        let apps = Dictionary(
            uniqueKeysWithValues: try await store.applications(tenantId: tenantId, kinds: Set(PrincipalKind.allCases)).map { ($0.objectId, $0) })
        let vaults = Dictionary(uniqueKeysWithValues: try await store.vaults(tenantId: tenantId).map { ($0.id, $0) })
        return assignments.map {
            AdminJSON.roleAssignment($0, role: roles[$0.roleId], principal: apps[$0.principalObjectId], apps: apps, vaults: vaults)
        }
    }

    /// Any principal that can sign in: an application, a managed identity or a host's identity.
    func principal(_ reference: String, _ caller: AdminCaller) async throws -> AppRegistration {
        guard let principal = try await store.application(tenantId: caller.tenant.id, reference: reference, kinds: Set(PrincipalKind.allCases)) else {
            throw AdminError.notFound("No application, managed identity or host identity '\(OAuthError.quoted(reference))' in this tenant.")
        }
        return principal
    }

    func assignRole(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["roleDefinitionId", "principalId", "directoryScopeId"])
        let role = try await role(try body.requiredString("roleDefinitionId"), tenantId: caller.tenant.id)
        let principal = try await principal(try body.requiredString("principalId"), caller)
        let scope = try await scope(try body.string("directoryScopeId") ?? "/", caller)
        let assignment = RoleAssignment(
            id: Self.newId(), tenantId: caller.tenant.id, roleId: role.id, principalObjectId: principal.objectId, scope: scope, createdAt: Date())
        let json = try await describe([assignment], tenantId: caller.tenant.id)[0]
        try await store.assignRole(assignment, audit: caller.audit(
            "roleAssignment.add", targetType: "servicePrincipal", targetId: principal.servicePrincipalId, after: json))
        return .json(json, status: .created)
    }

    /// `/`, `/applications/{app}` (any reference to an application; stored by object id),
    /// `/vaults/{vault}` or `/vaults/{vault}/secrets/{name}` (a vault by name or id; stored by id;
    /// the secret need not exist yet).
    func scope(_ text: String, _ caller: AdminCaller) async throws -> RoleScope {
        let shape = "directoryScopeId must be '/' (the tenant), '/applications/{app}', '/vaults/{vault}' or '/vaults/{vault}/secrets/{name}', not '\(OAuthError.quoted(text))'."
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch (parts.count, parts.dropFirst().first) {
        case (2, "") where text == "/":
            return .tenant
        case (3, "applications") where !parts[2].isEmpty:
            guard let app = try await store.application(tenantId: caller.tenant.id, reference: parts[2]) else {
                throw AdminError.notFound("No application '\(OAuthError.quoted(parts[2]))' in this tenant to scope the assignment to.")
            }
            return .application(objectId: app.objectId)
        case (3, "vaults") where !parts[2].isEmpty, (5, "vaults") where !parts[2].isEmpty && parts[3] == "secrets":
            let vault = try await vault(parts[2], caller)
            guard parts.count == 5 else { return .vault(id: vault.id) }
            try VaultRules.checkSecretName(parts[4])
            return .vaultSecret(vaultId: vault.id, name: parts[4].lowercased())
        default:
            throw AdminError.badRequest(shape, target: "directoryScopeId")
        }
    }

    func unassignRole(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let id = try Self.pathParameter(context, "id")
        let tenantId = caller.tenant.id
        try await store.unassignRole(id: id, tenantId: tenantId, check: { assignment, others in
            if assignment.roleId == DirectoryRole.administratorId, assignment.scope == .tenant, others == 0 {
                throw AdminError.forbidden(
                    "Refusing to remove the last tenant-wide Administrator assignment: nobody could administer the tenant. Assign Administrator to another principal first.")
            }
        }, audit: { assignment in
            caller.audit("roleAssignment.remove", targetType: "roleAssignment", targetId: assignment.id, before: [
                "roleDefinitionId": .string(assignment.roleId), "principalObjectId": .string(assignment.principalObjectId),
                "directoryScopeId": .string(assignment.scope.directoryScopeId),
            ])
        })
        return Response(status: .noContent)
    }

    /// Whether `app` holds the only tenant-wide Administrator assignment left.
    func holdsLastAdministrator(_ app: AppRegistration) async throws -> Bool {
        let holders = Set(try await store.roleAssignments(tenantId: app.tenantId)
            .filter { $0.roleId == DirectoryRole.administratorId && $0.scope == .tenant }.map(\.principalObjectId))
        return holders == [app.objectId]
    }
}
