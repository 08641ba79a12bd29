import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// App management policies (DESIGN §5): the tenant default (Graph's `tenantAppManagementPolicy`),
/// per-app policies (`appManagementPolicy`), their assignment to apps, and the report of the
/// credentials that break the policy in force. Enforcement is in `addPassword` / `addKey`, in the
/// store transaction that adds the credential.
extension AdminAPI {
    var appManagementPolicyRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "policies/defaultAppManagementPolicy", .policiesRead) { _, _, caller in
                .json(AdminJSON.appManagementPolicy(try await defaultPolicy(caller)))
            },
            AdminRoute(.patch, "policies/defaultAppManagementPolicy", .policiesWrite, handler: updateDefaultPolicy),
            AdminRoute(.get, "policies/appManagementPolicies", .policiesRead) { _, _, caller in
                .json(["value": .array(try await store.appManagementPolicies(tenantId: caller.tenant.id).map(AdminJSON.appManagementPolicy))])
            },
            AdminRoute(.post, "policies/appManagementPolicies", .policiesWrite, handler: createPolicy),
            AdminRoute(.get, "policies/appManagementPolicyReport", .policiesRead, handler: policyReport),
            AdminRoute(.get, "policies/appManagementPolicies/{id}", .policiesRead) { _, context, caller in
                .json(AdminJSON.appManagementPolicy(try await appPolicy(context, caller)))
            },
            AdminRoute(.patch, "policies/appManagementPolicies/{id}", .policiesWrite, handler: updatePolicy),
            AdminRoute(.delete, "policies/appManagementPolicies/{id}", .policiesWrite, handler: deletePolicy),
            AdminRoute(.get, "applications/{app}/appManagementPolicy", .policiesRead, scope: .application("app"), handler: policyInForce),
            AdminRoute(.put, "applications/{app}/appManagementPolicy", .policiesWrite, scope: .application("app"), handler: assignPolicy),
            AdminRoute(.delete, "applications/{app}/appManagementPolicy", .policiesWrite, scope: .application("app"), handler: unassignPolicy),
        ]
    }

    static let policyFields: Set<String> = ["displayName", "description", "isEnabled"]

    func defaultPolicy(_ caller: AdminCaller) async throws -> AppManagementPolicy {
        guard let policy = try await store.defaultAppManagementPolicy(tenantId: caller.tenant.id) else {
            throw StoreError.unavailable("the tenant has no default app management policy")
        }
        return policy
    }

    func appPolicy(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> AppManagementPolicy {
        let reference = try Self.pathParameter(context, "id")
        guard let policy = try await store.appManagementPolicy(tenantId: caller.tenant.id, reference: reference), !policy.isTenantDefault else {
            throw AdminError.notFound(
                "No app management policy '\(OAuthError.quoted(reference))' in this tenant (looked up by id and display name); the default is policies/defaultAppManagementPolicy.")
        }
        return policy
    }

    /// Applies the members of `body` to `policy`: name, description, state and (under
    /// `restrictionsField`) the restrictions, which replace the ones it had.
    static func apply(_ body: JSONBody, restrictionsField: String, to policy: inout AppManagementPolicy) throws {
        if let name = try body.string("displayName") {
            try DirectoryRules.checkDisplayName(name)
            policy.displayName = name
        }
        if let description = try body.string("description") {
            guard description.unicodeScalars.count <= 1024, !description.containsControlCharacters else {
                throw AdminError.badRequest("'description' may be at most 1024 characters, without control characters.", target: "description")
            }
            policy.description = description
        }
        if let enabled = try body.bool("isEnabled") { policy.isEnabled = enabled }
        if let restrictions = body.members[restrictionsField], restrictions != .null {
            policy.restrictions = try AppManagementPolicyJSON.parse(restrictions, field: restrictionsField)
        }
    }

    /// The audit action of a change to a policy: lifting or imposing the block on client
    /// secrets is its own clearly named change (`--allow-secrets` / `--block-secrets`).
    static func policyChange(_ prefix: String, before: AppManagementPolicy, after: AppManagementPolicy) -> String {
        switch (before.blocksSecrets, after.blocksSecrets) {
        case (true, false): "\(prefix).allowSecrets"
        case (false, true): "\(prefix).blockSecrets"
        default: "\(prefix).update"
        }
    }

    func updateDefaultPolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        try await update(request, caller, before: try await defaultPolicy(caller))
    }

    func updatePolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        try await update(request, caller, before: try await appPolicy(context, caller))
    }

    /// Applies a PATCH body to the default or a per-app policy and saves it with its audit event.
    func update(_ request: Request, _ caller: AdminCaller, before: AppManagementPolicy) async throws -> Response {
        let field = AdminJSON.restrictionsField(before)
        let body = try await body(request, allowed: Self.policyFields.union([field]), limit: Self.policyBodyLimit)
        var policy = before
        try Self.apply(body, restrictionsField: field, to: &policy)
        let action = Self.policyChange(before.isTenantDefault ? "defaultAppManagementPolicy" : "appManagementPolicy", before: before, after: policy)
        try await store.updateAppManagementPolicy(policy, tenantId: caller.tenant.id, audit: caller.audit(
            action, targetType: "appManagementPolicy", targetId: policy.id,
            before: AdminJSON.appManagementPolicy(before), after: AdminJSON.appManagementPolicy(policy)))
        return .json(AdminJSON.appManagementPolicy(policy))
    }

    /// Twenty CA certificates in PEM do not fit the usual 64 KiB.
    static let policyBodyLimit = 256 * 1024

    func createPolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: Self.policyFields.union(["restrictions"]), limit: Self.policyBodyLimit)
        var policy = AppManagementPolicy(id: Self.newId(), displayName: try body.requiredString("displayName"), description: "", isEnabled: true, restrictions: [])
        try Self.apply(body, restrictionsField: "restrictions", to: &policy)
        let json = AdminJSON.appManagementPolicy(policy)
        try await store.createAppManagementPolicy(policy, tenantId: caller.tenant.id, audit: caller.audit(
            "appManagementPolicy.create", targetType: "appManagementPolicy", targetId: policy.id, after: json))
        return .json(json, status: .created, headers: [.location: "/admin/v1/policies/appManagementPolicies/\(policy.id)"])
    }

    func deletePolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let policy = try await appPolicy(context, caller)
        try await store.deleteAppManagementPolicy(id: policy.id, tenantId: caller.tenant.id, audit: caller.audit(
            "appManagementPolicy.delete", targetType: "appManagementPolicy", targetId: policy.id, before: AdminJSON.appManagementPolicy(policy)))
        return Response(status: .noContent)
    }

    /// The policy in force for the app: its own, or the tenant default.
    func policyInForce(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        if let policy = try await store.appManagementPolicyInForce(applicationId: app.objectId) { return .json(AdminJSON.appManagementPolicy(policy)) }
        return .json(AdminJSON.appManagementPolicy(try await defaultPolicy(caller)))  // says the default is missing
    }

    func assignPolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let body = try await body(request, allowed: ["id"])
        let reference = try body.requiredString("id")
        guard let policy = try await store.appManagementPolicy(tenantId: caller.tenant.id, reference: reference), !policy.isTenantDefault else {
            throw AdminError.badRequest(
                "'id' names no app management policy of this tenant ('\(OAuthError.quoted(reference))'); the default applies without assignment.", target: "id")
        }
        try await store.assignAppManagementPolicy(policy.id, applicationId: app.objectId, tenantId: caller.tenant.id, audit: caller.audit(
            "appManagementPolicy.assign", targetType: "application", targetId: app.objectId,
            after: ["policyId": .string(policy.id), "displayName": .string(policy.displayName)]))
        return .json(AdminJSON.appManagementPolicy(policy))
    }

    func unassignPolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        try await store.unassignAppManagementPolicy(applicationId: app.objectId, audit: caller.audit(
            "appManagementPolicy.unassign", targetType: "application", targetId: app.objectId))
        return Response(status: .noContent)
    }

    /// Every working credential (not revoked, not expired) that breaks the policy in force for its app.
    func policyReport(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let tenantId = caller.tenant.id
        let apps = Dictionary(uniqueKeysWithValues: try await store.applications(tenantId: tenantId).map { ($0.objectId, $0) })
        var policies = Dictionary(uniqueKeysWithValues: try await store.appManagementPolicies(tenantId: tenantId).map { ($0.id, $0) })
        let tenantDefault = try await defaultPolicy(caller)
        policies[tenantDefault.id] = tenantDefault
        let assignments = try await store.appManagementPolicyAssignments(tenantId: tenantId)
        let now = Date()
        var credentials: [(applicationId: String, json: JSONValue, judged: PolicyCredential?)] = []
        for owned in try await store.passwordCredentials(tenantId: tenantId) where owned.credential.revokedAt == nil && owned.credential.endDateTime > now {
            credentials.append((owned.applicationObjectId, AdminJSON.passwordCredential(owned.credential), PolicyCredential(owned.credential)))
        }
        for key in try await store.keyCredentials(tenantId: tenantId) where key.endDateTime.map({ $0 > now }) ?? true {
            credentials.append((key.applicationId, AdminJSON.keyCredential(key), PolicyCredential(key)))
        }
        var rows: [JSONValue] = []
        for (applicationId, json, judged) in credentials {
            guard let app = apps[applicationId], let judged else { continue }
            let policy = AppManagementPolicy.inForce(assigned: assignments[app.objectId].flatMap { policies[$0] }, tenantDefault: tenantDefault)
            for violation in CredentialPolicyCheck.violations(of: judged, appCreatedAt: app.createdAt, policy: policy) {
                rows.append([
                    "appId": .string(app.appId), "applicationId": .string(app.objectId), "appDisplayName": .string(app.displayName),
                    "policyId": .string(violation.policyId), "policyDisplayName": .string(violation.policyName),
                    "restrictionType": .string(violation.restriction.rawValue),
                    "credentialType": .string(violation.restriction.group == .passwordCredentials ? "passwordCredential" : "keyCredential"),
                    "keyId": json.objectValue?["keyId"] ?? .null, "credentialDisplayName": json.objectValue?["displayName"] ?? .null,
                    "endDateTime": json.objectValue?["endDateTime"] ?? .null,
                    "reason": .string(violation.message),
                ])
            }
        }
        return .json(["value": .array(rows)])
    }
}

extension AdminJSON {
    /// The tenant default as Graph's `tenantAppManagementPolicy` (`applicationRestrictions`),
    /// any other as an `appManagementPolicy` (`restrictions`).
    static func appManagementPolicy(_ policy: AppManagementPolicy) -> JSONValue {
        [
            "id": .string(policy.id), "displayName": .string(policy.displayName), "description": .string(policy.description),
            "isEnabled": .bool(policy.isEnabled),
            restrictionsField(policy): AppManagementPolicyJSON.restrictions(policy.restrictions),
        ]
    }

    /// Where a policy's restrictions are: `applicationRestrictions` for the default, `restrictions` otherwise (as in Graph).
    static func restrictionsField(_ policy: AppManagementPolicy) -> String {
        policy.isTenantDefault ? "applicationRestrictions" : "restrictions"
    }
}
