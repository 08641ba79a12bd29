import Foundation
import Logging
import SQLKit
import SigilCore
import Testing

@testable import SigilServer
@testable import SigilStore

/// Issue 10, item 9: every admin route against every built-in role and a custom role scoped to one
/// application. The routes come from the server's own route table, so a new route is covered the
/// moment it is added.
@Suite struct RoleMatrixTests {
    /// A path with its parameters filled: `{app}` with `app`, anything else with an id that names nothing.
    static func path(_ route: AdminRoute, app: String) -> String {
        route.path.split(separator: "/").map { segment in
            guard segment.hasPrefix("{") else { return String(segment) }
            return segment == "{app}" ? app : "no-such-object"
        }.joined(separator: "/")
    }

    static func call(_ server: TestServer, _ route: AdminRoute, app: String, token: String) async throws -> TestServer.Reply {
        let hasBody = [.post, .patch, .put].contains(route.method)
        return try await server.admin(
            route.method.rawValue, path(route, app: app), token: token, rawBody: hasBody ? Data("{}".utf8) : nil, contentType: hasBody ? "application/json" : nil)
    }

    @Test func everyRouteAgainstEveryBuiltInRoleAndAScopedCustomRole() async throws {
        try await TestServer.with { server in
            let routes = AdminAPI(store: server.store, keys: server.server.keys, kek: server.server.kek, kekRotation: server.server.kekRotation, urls: server.server.urls, logger: Logger(label: "matrix"),
                rotator: server.server.rotator).routes
            #expect(routes.count >= 50, "the route table lists every admin operation")
            try await server.createApp("target")
            try await server.createApp("other")

            // Tenant-wide built-in roles: allowed exactly where the role carries the permission.
            for role in DirectoryRole.builtIn {
                let principal = "holder-" + role.displayName.lowercased().replacingOccurrences(of: " ", with: "-")
                try await server.createApp(principal)
                try await server.assignRole(role.displayName, to: principal)
                let token = try await server.adminToken(as: principal)
                for route in routes {
                    let reply = try await Self.call(server, route, app: "no-such-app", token: token)
                    let allowed = role.permissions.contains(route.permission)
                    let what = "\(role.displayName): \(route.method) \(route.path) → \(reply.status) \(reply.json)"
                    if allowed {
                        #expect(reply.status != 403 && reply.status != 401, "\(what)")
                    } else {
                        #expect(reply.status == 403, "\(what)")
                        #expect(reply.json["error"]?["message"]?.stringValue?.contains("lacks the permission \(route.permission.rawValue)") == true, "\(what)")
                    }
                }
            }

            // Roles scoped to one application: the built-in Credential Rotator and a custom role.
            // Each may use its permissions on that app (and read the tenant), nothing else.
            let created = try await server.admin("POST", "roleManagement/directory/roleDefinitions", json: [
                "displayName": "Target rotator", "rolePermissions": [["allowedResourceActions": ["applications.read", "applications.credentials.update"]]],
            ])
            #expect(created.status == 201, "\(created.json)")
            let custom = try #require(try await server.roleDefinition("Target rotator"))
            for role in [try #require(DirectoryRole.builtIn.first { $0.displayName == "Credential Rotator" }), custom] {
                let principal = "scoped-" + role.id
                try await server.createApp(principal)
                try await server.assignRole(role.displayName, to: principal, app: "target")
                let token = try await server.adminToken(as: principal)
                for route in routes {
                    let onTarget = try await Self.call(server, route, app: "target", token: token)
                    let onOther = try await Self.call(server, route, app: "other", token: token)
                    let what = "\(role.displayName) on target: \(route.method) \(route.path) → \(onTarget.status)/\(onOther.status) \(onTarget.json)"
                    if route.scope == .anyAssignment, role.permissions.contains(route.permission) {
                        #expect((200..<300).contains(onTarget.status), "\(what)")
                    } else if route.scope == .application("app"), role.permissions.contains(route.permission) {
                        #expect(onTarget.status != 403 && onTarget.status != 401, "\(what)")
                        #expect(onOther.status == 403, "\(what)")
                        #expect(onOther.json["error"]?["message"]?.stringValue?.contains("for application 'other'") == true, "\(what)")
                    } else {
                        #expect(onTarget.status == 403, "\(what)")
                        #expect(onTarget.json["error"]?["message"]?.stringValue?.contains("lacks the permission \(route.permission.rawValue)") == true, "\(what)")
                    }
                }
            }

            // Denials are audited with the permission that was missing.
            let audit = try #require(try await server.admin("GET", "auditLogs?top=1000").json["value"]?.arrayValue)
            #expect(audit.contains { $0["activityDisplayName"]?.stringValue == "admin.denied" && $0["after"]?["permission"]?.stringValue == "roles.write" })
        }
    }

    @Test func aPrincipalWithoutAnyRoleGetsNoAdminTokenAndAnUnassignedRoleStopsAtOnce() async throws {
        try await TestServer.with { server in
            try await server.createApp("nobody")
            let (_, secret) = try await server.addSecret("nobody")
            let appId = try #require(try await server.admin("GET", "applications/nobody").json["appId"]?.stringValue)
            let refused = try await server.token([
                ("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://sigil-admin/.default"),
            ])
            #expect(refused.status == 400, "\(refused.json)")

            let assignment = try await server.assignRole("Security Reader", to: "nobody")
            let token = try await server.adminToken(as: "nobody")
            #expect(try await server.admin("GET", "applications", token: token).status == 200)
            #expect(try await server.admin("DELETE", "roleManagement/directory/roleAssignments/\(assignment)").status == 204)
            let after = try await server.admin("GET", "applications", token: token)
            #expect(after.status == 403 && after.json["error"]?["message"]?.stringValue?.contains("holds no admin role") == true, "\(after.json)")
        }
    }

    /// Migration 10 on a store as it was before: holders of the admin API's `Administrator` app
    /// role become tenant-wide Administrators (same assignment ids) and the app role goes.
    @Test func upgradingKeepsEveryAdministrator() async throws {
        try await TestServer.with { server in
            let oldAdmin = try #require(try await server.createApp("old-admin")["objectId"]?.stringValue)
            let bootstrap = try #require(try await server.store.roleAssignments(tenantId: server.tenantId).first)
            let adminAPI = try #require(try await server.store.application(tenantId: server.tenantId, reference: "api://sigil-admin"))
            let tenant = server.tenantId
            try await server.store.transaction(changesDirectory: false) { database in
                try await database.raw("DROP TABLE directory_role_assignments").run()
                try await database.raw("DROP TABLE directory_roles").run()
                try await database.raw("DELETE FROM schema_migrations WHERE version = 10").run()
                try await database.raw("""
                    INSERT INTO app_roles (id, application_id, value, display_name, description)
                    VALUES ('old-role', \(bind: adminAPI.objectId), 'Administrator', 'Administrator', 'May do everything.')
                    """).run()
                for (id, principal) in [(bootstrap.id, bootstrap.principalObjectId), ("old-assignment", oldAdmin)] {
                    try await database.raw("""
                        INSERT INTO app_role_assignments (id, tenant_id, principal_app_id, resource_app_id, app_role_id, created_at)
                        VALUES (\(bind: id), \(bind: tenant), \(bind: principal), \(bind: adminAPI.objectId), 'old-role', 0)
                        """).run()
                }
            }
            try await server.store.migrate()
            let assignments = try await server.store.roleAssignments(tenantId: server.tenantId)
            #expect(Set(assignments.map(\.id)) == [bootstrap.id, "old-assignment"])
            #expect(assignments.allSatisfy { $0.roleId == DirectoryRole.administratorId && $0.scope == .tenant })
            #expect(try await server.store.application(tenantId: server.tenantId, reference: "api://sigil-admin")?.appRoles.isEmpty == true)
            #expect(try await server.admin("GET", "applications").status == 200, "the bootstrap administrator still administers")
        }
    }
}
