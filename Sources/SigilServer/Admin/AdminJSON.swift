import Foundation
import SigilCore
import SigilStore

/// How directory objects look in admin API responses: Microsoft Graph's field names where Graph
/// has one. Secret values never appear here; the one response that carries a new secret adds
/// `secretText` itself.
enum AdminJSON {
    /// `risk` is given in API responses; audit snapshots leave it out (it is not the app's configuration).
    static func application(
        _ app: AppRegistration, passwords: [PasswordCredential]? = nil, keys: [KeyCredential]? = nil, risk: ServicePrincipalRisk? = nil
    ) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(app.objectId),
            "objectId": .string(app.objectId),
            "appId": .string(app.appId),
            "tenantId": .string(app.tenantId),
            "servicePrincipalId": .string(app.servicePrincipalId),
            "displayName": .string(app.displayName),
            "identifierUris": .array(app.identifierUris.map(JSONValue.string)),
            "appRoles": .array(app.appRoles.map(appRole)),
            "appRoleAssignmentRequired": .bool(app.appRoleAssignmentRequired),
            "accessTokenSigningAlgorithm": .string(app.accessTokenSigningAlgorithm.rawValue),
            "accountEnabled": .bool(app.enabled),
            "createdDateTime": .date(app.createdAt),
        ]
        if let passwords { object["passwordCredentials"] = .array(passwords.map(passwordCredential)) }
        if let keys { object["keyCredentials"] = .array(keys.map(keyCredential)) }
        if let risk {
            object["riskLevel"] = .string(risk.level.rawValue)
            object["riskState"] = .string(risk.state.rawValue)
        }
        return .object(object)
    }

    static func appRole(_ role: AppRole) -> JSONValue {
        [
            "id": .string(role.id), "value": .string(role.value), "displayName": .string(role.displayName),
            "description": .string(role.description), "isEnabled": true, "allowedMemberTypes": ["Application"],
        ]
    }

    /// Graph's `unifiedRoleDefinition`.
    static func role(_ role: DirectoryRole) -> JSONValue {
        [
            "id": .string(role.id), "displayName": .string(role.displayName), "description": .string(role.description),
            "isBuiltIn": .bool(role.isBuiltIn), "isEnabled": true,
            "rolePermissions": [["allowedResourceActions": .array(role.permissions.sorted().map { .string($0.rawValue) })]],
        ]
    }

    /// Graph's `unifiedRoleAssignment`, with display names beside the ids (the role, the
    /// principal and an application scope may have been renamed or, for the scope, deleted).
    static func roleAssignment(
        _ assignment: RoleAssignment, role: DirectoryRole?, principal: AppRegistration?, apps: [String: AppRegistration], vaults: [String: Vault]
    ) -> JSONValue {
        let scopeName = switch assignment.scope {
        case .tenant: "tenant"
        case .application(let objectId): apps[objectId]?.displayName ?? objectId
        case .vault(let id): "vault " + (vaults[id]?.name ?? id)
        case .vaultSecret(let id, let name): "vault \(vaults[id]?.name ?? id) secret \(name)"
        }
        return [
            "id": .string(assignment.id), "roleDefinitionId": .string(assignment.roleId), "roleDisplayName": .optional(role?.displayName),
            "principalId": .optional(principal?.servicePrincipalId), "principalObjectId": .string(assignment.principalObjectId),
            "principalDisplayName": .optional(principal?.displayName), "directoryScopeId": .string(assignment.scope.directoryScopeId),
            "directoryScopeDisplayName": .string(scopeName), "createdDateTime": .date(assignment.createdAt),
        ]
    }

    /// A vault, with Azure's property names.
    static func vault(_ vault: Vault, addressing: VaultAddressing) -> JSONValue {
        [
            "id": .string(vault.id), "name": .string(vault.name), "tenantId": .string(vault.tenantId),
            "vaultUri": .string(addressing.vaultURL(vault.name)), "resource": .string(addressing.resource),
            "softDeleteRetentionInDays": .integer(Int64(vault.retentionDays)), "enablePurgeProtection": .bool(vault.purgeProtection),
            "createdDateTime": .date(vault.createdAt),
        ]
    }

    static func passwordCredential(_ credential: PasswordCredential) -> JSONValue {
        var object: [String: JSONValue] = [
            "keyId": .string(credential.keyId), "displayName": .string(credential.displayName), "hint": .string(credential.hint),
            "startDateTime": .date(credential.startDateTime), "endDateTime": .date(credential.endDateTime),
        ]
        if let revokedAt = credential.revokedAt {
            object["revokedDateTime"] = .date(revokedAt)
            object["revokedReason"] = .optional(credential.revokedReason)
        }
        if let disabledAt = credential.disabledAt { object["disabledDateTime"] = .date(disabledAt) }
        return .object(object)
    }

    static func keyCredential(_ credential: KeyCredential) -> JSONValue {
        var object: [String: JSONValue] = [
            "keyId": .string(credential.keyId), "type": .string(credential.kind.rawValue), "usage": "Verify",
            "displayName": .string(credential.displayName), "kid": .string(credential.kid),
            "x5t": .optional(credential.x5t), "x5t#S256": .optional(credential.x5tS256),
            "customKeyIdentifier": .optional(credential.thumbprintHex),
            "startDateTime": .date(credential.startDateTime), "endDateTime": .date(credential.endDateTime),
        ]
        if let disabledAt = credential.disabledAt { object["disabledDateTime"] = .date(disabledAt) }
        return .object(object)
    }

    static func assignment(_ assignment: AppRoleAssignment) -> JSONValue {
        [
            "id": .string(assignment.id), "principalId": .string(assignment.principalId),
            "principalDisplayName": .string(assignment.principalDisplayName), "principalType": "ServicePrincipal",
            "resourceId": .string(assignment.resourceId), "resourceDisplayName": .string(assignment.resourceDisplayName),
            "appRoleId": .string(assignment.appRoleId), "appRoleValue": .string(assignment.appRoleValue),
            "createdDateTime": .date(assignment.createdAt),
        ]
    }

    static func signIn(_ event: SignInEvent) -> JSONValue {
        [
            "id": .string(event.id), "createdDateTime": .date(event.time), "tenantId": .string(event.tenantId),
            "appId": .string(event.appId), "appDisplayName": .optional(event.appDisplayName),
            "servicePrincipalId": .optional(event.servicePrincipalId),
            "clientCredentialType": .optional(event.credentialType?.rawValue), "credentialKeyId": .optional(event.credentialId),
            "ipAddress": .string(event.ipAddress), "userAgent": .optional(event.userAgent),
            "resourceDisplayName": .optional(event.resource), "resourceId": .optional(event.resourceId),
            "status": [
                "succeeded": .bool(event.succeeded), "errorCode": event.errorCode.map { .integer(Int64($0)) } ?? .integer(0),
                "failureReason": .optional(event.failureReason),
            ],
            "conditionalAccessStatus": .string(event.conditionalAccessStatus), "riskLevel": .string(event.riskLevel),
            "appliedConditionalAccessPolicies": .array((event.policyResults?.applied ?? []).map { applied in
                ["id": .string(applied.id), "displayName": .string(applied.displayName), "result": .string(applied.result.rawValue)]
            }),
            "correlationId": .string(event.correlationId),
            "federatedCredentialId": .optional(event.credentialType == .federatedIdentityCredential ? event.credentialId : nil),
            "federatedTokenIssuer": .optional(event.secretless.federatedIssuer),
            "federatedTokenSubject": .optional(event.secretless.federatedSubject), "hostId": .optional(event.secretless.hostId),
            "callerUid": event.secretless.callerUid.map(JSONValue.integer) ?? .null,
            "callerExecutable": .optional(event.secretless.callerExecutable),
        ]
    }

    static func federatedCredential(_ credential: FederatedIdentityCredential) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(credential.id), "name": .string(credential.name), "issuer": .string(credential.issuer),
            "subject": .optional(credential.subject),
            "claimsMatchingExpression": credential.claimsMatchingExpression.map { ["value": .string($0), "languageVersion": 1] } ?? .null,
            "audiences": .array(credential.audiences.map(JSONValue.string)), "description": .string(credential.description),
            "createdDateTime": .date(credential.createdAt),
        ]
        if let disabledAt = credential.disabledAt { object["disabledDateTime"] = .date(disabledAt) }
        return .object(object)
    }

    static func trustedIssuer(_ trusted: TrustedIssuer) -> JSONValue {
        ["issuer": .string(trusted.issuer), "caCertificate": .optional(trusted.caPEM), "createdDateTime": .date(trusted.createdAt)]
    }

    /// A managed identity as Azure shows one: `objectId` / `principalId` is the service principal
    /// (the token's `oid`), `appId` the client id.
    static func managedIdentity(_ identity: AppRegistration, hosts: [EnrolledHost]? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(identity.servicePrincipalId), "appId": .string(identity.appId), "objectId": .string(identity.servicePrincipalId),
            "principalId": .string(identity.servicePrincipalId), "displayName": .string(identity.displayName),
            "type": .string(identity.kind == .systemAssignedIdentity ? "systemAssigned" : "userAssigned"),
            "resourceId": .string(ManagedIdentityRules.resourceId(tenantId: identity.tenantId, identity: identity)),
            "createdDateTime": .date(identity.createdAt),
        ]
        if let hosts { object["hosts"] = .array(hosts.map { .string($0.name) }) }
        return .object(object)
    }

    static func host(_ host: EnrolledHost, systemIdentity: AppRegistration?, assigned: [AppRegistration]) -> JSONValue {
        [
            "id": .string(host.id), "name": .string(host.name), "createdDateTime": .date(host.createdAt),
            "enrolledDateTime": .date(host.enrolledAt), "joinTokenExpiresDateTime": host.enrolledAt == nil ? .date(host.joinTokenExpiresAt) : .null,
            "reportedHostname": .optional(host.reportedHostname), "appId": .optional(systemIdentity?.appId),
            "systemAssignedIdentity": systemIdentity.map { managedIdentity($0) } ?? .null,
            "userAssignedIdentities": .array(assigned.map { managedIdentity($0) }),
        ]
    }

    static func hostRule(_ rule: HostRule, identityName: String?) -> JSONValue {
        var object = rule.selectorMembers
        object["id"] = .string(rule.id)
        object["identity"] = ["appId": .string(rule.identityAppId), "displayName": .optional(identityName)]
        return .object(object)
    }

    static func audit(_ event: AuditEvent) -> JSONValue {
        [
            "id": .string(event.id), "activityDateTime": .date(event.time), "tenantId": .string(event.tenantId),
            "initiatedBy": ["id": .string(event.actorId), "displayName": .string(event.actorName), "ipAddress": .string(event.ipAddress)],
            "activityDisplayName": .string(event.action),
            "targetResources": [["type": .string(event.targetType), "id": .string(event.targetId)]],
            "before": event.before ?? .null, "after": event.after ?? .null,
            "result": .string(event.succeeded ? "success" : "failure"), "correlationId": .string(event.correlationId),
        ]
    }

    static func riskDetection(_ detection: RiskDetection) -> JSONValue {
        [
            "id": .string(detection.id), "riskEventType": .string(detection.riskEventType), "riskLevel": .string(detection.riskLevel.rawValue),
            "riskState": .string(detection.riskState.rawValue), "detectedDateTime": .date(detection.detectedAt),
            "lastUpdatedDateTime": .date(detection.updatedAt), "servicePrincipalId": .string(detection.servicePrincipalId),
            "servicePrincipalDisplayName": .optional(detection.servicePrincipalDisplayName), "appId": .string(detection.appId),
            "keyIds": .array(detection.keyId.map { [.string($0)] } ?? []), "source": .string(detection.source),
            "correlationId": .string(detection.correlationId), "ipAddress": .optional(detection.ipAddress),
            "additionalInfo": .array(detection.evidence.map { ["Key": .string($0.key), "Value": .string($0.value)] }),
        ]
    }

    /// Graph's `riskyServicePrincipal`: a principal with any detection, and its risk now.
    static func riskyServicePrincipal(_ principal: AppRegistration, risk: ServicePrincipalRisk) -> JSONValue {
        [
            "id": .string(principal.servicePrincipalId), "appId": .string(principal.appId), "displayName": .string(principal.displayName),
            "servicePrincipalType": .string(principal.kind.isManagedIdentity ? "ManagedIdentity" : "Application"),
            "isEnabled": .bool(principal.enabled), "riskLevel": .string(risk.level.rawValue), "riskState": .string(risk.state.rawValue),
        ]
    }

    static func signingKey(_ key: StoredSigningKey) -> JSONValue {
        [
            "kid": .string(key.kid), "alg": .string(key.algorithm.rawValue), "state": .string(key.state.rawValue),
            "createdDateTime": .date(key.createdAt), "activatedDateTime": .date(key.activatedAt), "retiredDateTime": .date(key.retiredAt),
        ]
    }
}
