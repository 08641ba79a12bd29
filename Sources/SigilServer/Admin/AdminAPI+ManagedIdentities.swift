import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// User-assigned managed identities: service principals with no credential anyone can add or
/// read. A host's agent vouches for them once they are assigned to it (`hosts/{host}/identities`).
extension AdminAPI {
    var managedIdentityRoutes: [AdminRoute] {
        [
            AdminRoute(.post, "managedIdentities", .managedIdentitiesWrite, handler: createManagedIdentity),
            AdminRoute(.get, "managedIdentities", .managedIdentitiesRead) { _, _, caller in
                let identities = try await store.applications(tenantId: caller.tenant.id, kinds: [.userAssignedIdentity])
                var value: [JSONValue] = []
                for identity in identities { value.append(try await describeIdentity(identity)) }
                return .json(["value": .array(value)])
            },
            AdminRoute(.get, "managedIdentities/{mi}", .managedIdentitiesRead) { _, context, caller in
                .json(try await describeIdentity(try await managedIdentity(context, caller)))
            },
            AdminRoute(.delete, "managedIdentities/{mi}", .managedIdentitiesWrite) { _, context, caller in
                let identity = try await managedIdentity(context, caller)
                guard identity.kind == .userAssignedIdentity else {
                    throw AdminError.badRequest("'\(identity.displayName)' is a host's system-assigned identity; it goes when the host is removed (`sigil host remove`).")
                }
                try await store.deleteApplication(objectId: identity.objectId, audit: caller.audit(
                    "managedIdentity.delete", targetType: "managedIdentity", targetId: identity.servicePrincipalId, before: AdminJSON.managedIdentity(identity)))
                return Response(status: .noContent)
            },
        ]
    }

    /// A managed identity (user- or system-assigned) by name, appId or objectId.
    func managedIdentity(_ context: SigilRequestContext, _ caller: AdminCaller, parameter: String = "mi") async throws -> AppRegistration {
        let reference = try Self.pathParameter(context, parameter)
        return try await managedIdentity(reference, caller)
    }

    func managedIdentity(_ reference: String, _ caller: AdminCaller) async throws -> AppRegistration {
        guard let identity = try await store.application(
            tenantId: caller.tenant.id, reference: reference, kinds: [.userAssignedIdentity, .systemAssignedIdentity])
        else {
            throw AdminError.notFound("No managed identity '\(reference)' in this tenant (looked up by name, appId and objectId).")
        }
        return identity
    }

    func describeIdentity(_ identity: AppRegistration) async throws -> JSONValue {
        let hosts: [EnrolledHost]
        if identity.kind == .systemAssignedIdentity, let hostId = identity.hostId, let host = try await store.host(id: hostId) {
            hosts = [host]
        } else {
            hosts = try await store.hosts(assignedIdentityId: identity.objectId)
        }
        return AdminJSON.managedIdentity(identity, hosts: hosts)
    }

    func createManagedIdentity(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["displayName"])
        let displayName = try body.requiredString("displayName")
        try DirectoryRules.checkDisplayName(displayName)
        let identity = AppRegistration(
            objectId: Self.newId(), appId: Self.newId(), tenantId: caller.tenant.id, servicePrincipalId: Self.newId(), displayName: displayName,
            identifierUris: [], appRoles: [], appRoleAssignmentRequired: false, accessTokenSigningAlgorithm: .es256, enabled: true,
            createdAt: Date(), kind: .userAssignedIdentity)
        let json = AdminJSON.managedIdentity(identity, hosts: [])
        try await store.createApplication(
            identity, audit: caller.audit("managedIdentity.create", targetType: "managedIdentity", targetId: identity.servicePrincipalId, after: json))
        return .json(json, status: .created, headers: [.location: "/admin/v1/managedIdentities/\(identity.servicePrincipalId)"])
    }
}
