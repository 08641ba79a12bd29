import Crypto
import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Hosts (machines running the agent), which identities each may vouch for, and the mapping rules
/// that hand those identities to the processes calling the agent's Unix socket.
extension AdminAPI {
    var hostRoutes: [AdminRoute] {
        [
            AdminRoute(.post, "hosts", .hostsWrite, handler: createHost),
            AdminRoute(.get, "hosts", .hostsRead) { _, _, caller in
                var value: [JSONValue] = []
                for host in try await store.hosts(tenantId: caller.tenant.id) { value.append(try await describeHost(host)) }
                return .json(["value": .array(value)])
            },
            AdminRoute(.get, "hosts/{host}", .hostsRead) { _, context, caller in
                .json(try await describeHost(try await host(context, caller)))
            },
            AdminRoute(.delete, "hosts/{host}", .hostsWrite) { _, context, caller in
                let host = try await host(context, caller)
                try await store.removeHost(host, audit: caller.audit("host.remove", targetType: "host", targetId: host.id, before: try await describeHost(host)))
                return Response(status: .noContent)
            },
            AdminRoute(.post, "hosts/{host}/identities", .hostsWrite) { request, context, caller in
                let host = try await host(context, caller)
                let body = try await body(request, allowed: ["identity"])
                let identity = try await managedIdentity(try body.requiredString("identity"), caller)
                guard identity.kind == .userAssignedIdentity else {
                    throw AdminError.badRequest("'\(identity.displayName)' is a system-assigned identity; only user-assigned identities are assigned to hosts.", target: "identity")
                }
                try await store.assignIdentity(hostId: host.id, identityId: identity.objectId, audit: caller.audit(
                    "host.identity.assign", targetType: "host", targetId: host.id, after: ["identity": .string(identity.appId)]))
                return .json(try await describeHost(host), status: .created)
            },
            AdminRoute(.delete, "hosts/{host}/identities/{mi}", .hostsWrite) { _, context, caller in
                let host = try await host(context, caller)
                let identity = try await managedIdentity(context, caller)
                try await store.unassignIdentity(hostId: host.id, identityId: identity.objectId, audit: caller.audit(
                    "host.identity.unassign", targetType: "host", targetId: host.id, before: ["identity": .string(identity.appId)]))
                return Response(status: .noContent)
            },
            AdminRoute(.get, "hosts/{host}/rules", .hostsRead) { _, context, caller in
                let host = try await host(context, caller)
                let names = try await identityNames(host)
                return .json(["value": .array(try await store.hostRules(hostId: host.id).map { AdminJSON.hostRule($0, identityName: names[$0.identityAppId]) })])
            },
            AdminRoute(.post, "hosts/{host}/rules", .hostsWrite, handler: addHostRule),
            AdminRoute(.delete, "hosts/{host}/rules/{rule}", .hostsWrite) { _, context, caller in
                let host = try await host(context, caller)
                let rule = try Self.pathParameter(context, "rule")
                try await store.removeHostRule(hostId: host.id, ruleId: rule, audit: caller.audit(
                    "host.rule.remove", targetType: "host", targetId: host.id, before: ["id": .string(rule)]))
                return Response(status: .noContent)
            },
        ]
    }

    func host(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> EnrolledHost {
        let reference = try Self.pathParameter(context, "host")
        guard let host = try await store.host(tenantId: caller.tenant.id, reference: reference) else {
            throw AdminError.notFound("No host '\(reference)' in this tenant (looked up by name and id).")
        }
        return host
    }

    /// The host with its system-assigned identity and the user-assigned identities it may vouch for.
    func describeHost(_ host: EnrolledHost) async throws -> JSONValue {
        AdminJSON.host(host, systemIdentity: try await store.systemIdentity(of: host), assigned: try await store.assignedIdentities(hostId: host.id))
    }

    /// appId → display name of the identities a host may hand out.
    func identityNames(_ host: EnrolledHost) async throws -> [String: String] {
        let identities = try await store.assignedIdentities(hostId: host.id) + [try await store.systemIdentity(of: host)].compactMap { $0 }
        return Dictionary(identities.map { ($0.appId, $0.displayName) }, uniquingKeysWith: { first, _ in first })
    }

    func createHost(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["name", "joinTokenLifetime"])
        let name = try body.requiredString("name")
        try ManagedIdentityRules.checkHostName(name)
        let lifetime = try body.string("joinTokenLifetime").map(ManagedIdentityRules.joinTokenLifetime) ?? ManagedIdentityRules.defaultJoinTokenLifetime
        let now = Date()
        let hostId = Self.newId()
        let system = AppRegistration(
            objectId: Self.newId(), appId: Self.newId(), tenantId: caller.tenant.id, servicePrincipalId: Self.newId(),
            displayName: ManagedIdentityRules.systemIdentityName(host: name), identifierUris: [], appRoles: [], appRoleAssignmentRequired: false,
            accessTokenSigningAlgorithm: .es256, enabled: true, createdAt: now, kind: .systemAssignedIdentity, hostId: hostId)
        let host = EnrolledHost(
            id: hostId, tenantId: caller.tenant.id, name: name, systemIdentityId: system.objectId, createdAt: now, enrolledAt: nil,
            joinTokenExpiresAt: now.addingTimeInterval(lifetime), reportedHostname: nil)
        let joinToken = SigilSecretFormat.generate(.joinToken)
        let json = AdminJSON.host(host, systemIdentity: system, assigned: [])
        try await store.createHost(host, systemIdentity: system, joinTokenDigest: Self.joinTokenDigest(joinToken), audit: caller.audit(
            "host.create", targetType: "host", targetId: host.id, after: json))
        guard case .object(var object) = json else { return .json(json) }
        object["joinToken"] = .string(joinToken)
        return .json(.object(object), status: .created, headers: [.location: "/admin/v1/hosts/\(host.id)"])
    }

    /// How a join token is looked up: the hex SHA-256 of its text.
    static func joinTokenDigest(_ token: String) -> String { SHA256.hash(data: Data(token.utf8)).lowerHex }

    func addHostRule(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let host = try await host(context, caller)
        let body = try await body(request, allowed: ["identity", "uid", "gid", "path", "sha256"])
        let identity = try await managedIdentity(try body.requiredString("identity"), caller)
        let assigned = try await store.assignedIdentities(hostId: host.id)
        guard identity.objectId == host.systemIdentityId || assigned.contains(where: { $0.objectId == identity.objectId }) else {
            throw AdminError.badRequest(
                "'\(identity.displayName)' is not assigned to host '\(host.name)'; assign it first with `sigil mi assign \(identity.displayName) --host \(host.name)`.",
                target: "identity")
        }
        let rule = try HostRule(id: Self.newId(), identityAppId: identity.appId, members: body.members)
        let json = AdminJSON.hostRule(rule, identityName: identity.displayName)
        try await store.addHostRule(rule, hostId: host.id, identityId: identity.objectId, audit: caller.audit(
            "host.rule.add", targetType: "host", targetId: host.id, after: json))
        return .json(json, status: .created)
    }
}
