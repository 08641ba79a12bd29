import Foundation
import Hummingbird
import NIOSSL
import SigilCore
import SigilStore

/// Federated identity credentials (on applications and user-assigned managed identities) and the
/// issuers an administrator trusts on non-public addresses. Field names are Graph's.
extension AdminAPI {
    var federationRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "applications/{app}/federatedIdentityCredentials", .applicationsRead, scope: .application("app")) { _, context, caller in
                try await listFederatedCredentials(owner: try await application(context, caller))
            },
            AdminRoute(.post, "applications/{app}/federatedIdentityCredentials", .applicationsCredentialsUpdate, scope: .application("app")) { request, context, caller in
                try await addFederatedCredential(request, owner: try await application(context, caller), caller: caller)
            },
            AdminRoute(.delete, "applications/{app}/federatedIdentityCredentials/{credential}", .applicationsCredentialsUpdate, scope: .application("app")) { _, context, caller in
                try await removeFederatedCredential(context, owner: try await application(context, caller), caller: caller)
            },
            AdminRoute(.get, "managedIdentities/{mi}/federatedIdentityCredentials", .managedIdentitiesRead) { _, context, caller in
                try await listFederatedCredentials(owner: try await federationIdentity(context, caller))
            },
            AdminRoute(.post, "managedIdentities/{mi}/federatedIdentityCredentials", .managedIdentitiesWrite) { request, context, caller in
                try await addFederatedCredential(request, owner: try await federationIdentity(context, caller), caller: caller)
            },
            AdminRoute(.delete, "managedIdentities/{mi}/federatedIdentityCredentials/{credential}", .managedIdentitiesWrite) { _, context, caller in
                try await removeFederatedCredential(context, owner: try await federationIdentity(context, caller), caller: caller)
            },
            AdminRoute(.get, "trustedIssuers", .trustedIssuersRead) { _, _, caller in
                .json(["value": .array(try await store.trustedIssuers(tenantId: caller.tenant.id).map(AdminJSON.trustedIssuer))])
            },
            AdminRoute(.post, "trustedIssuers", .trustedIssuersWrite, handler: trustIssuer),
            AdminRoute(.delete, "trustedIssuers", .trustedIssuersWrite) { request, _, caller in
                guard let issuer = request.uri.queryParameters["issuer"].map(String.init), !issuer.isEmpty else {
                    throw AdminError.badRequest("Name the issuer to stop trusting: DELETE trustedIssuers?issuer=URL.", target: "issuer")
                }
                try await store.untrustIssuer(issuer, tenantId: caller.tenant.id, audit: caller.audit(
                    "trustedIssuer.remove", targetType: "trustedIssuer", targetId: issuer))
                return Response(status: .noContent)
            },
        ]
    }

    /// A user-assigned identity: the only kind of managed identity that carries federated credentials.
    func federationIdentity(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> AppRegistration {
        let identity = try await managedIdentity(context, caller)
        guard identity.kind == .userAssignedIdentity else {
            throw AdminError.badRequest("'\(identity.displayName)' is a host's system-assigned identity; federated credentials go on user-assigned identities and applications.")
        }
        return identity
    }

    func listFederatedCredentials(owner app: AppRegistration) async throws -> Response {
        .json(["value": .array(try await store.federatedCredentials(applicationId: app.objectId).map(AdminJSON.federatedCredential))])
    }

    func removeFederatedCredential(_ context: SigilRequestContext, owner app: AppRegistration, caller: AdminCaller) async throws -> Response {
        let reference = try Self.pathParameter(context, "credential")
        try await store.removeFederatedCredential(applicationId: app.objectId, reference: reference) { removed in
            caller.audit(
                "\(Self.auditTarget(app)).federatedIdentityCredential.remove", targetType: Self.auditTarget(app), targetId: Self.auditTargetId(app),
                before: AdminJSON.federatedCredential(removed))
        }
        return Response(status: .noContent)
    }

    static func auditTarget(_ app: AppRegistration) -> String { app.kind == .application ? "application" : "managedIdentity" }

    /// The id an audit event names its target by: what the API shows as the object's `id`.
    static func auditTargetId(_ app: AppRegistration) -> String { app.kind == .application ? app.objectId : app.servicePrincipalId }

    func addFederatedCredential(_ request: Request, owner app: AppRegistration, caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["name", "issuer", "subject", "audiences", "claimsMatchingExpression", "description"])
        let expression: String?
        switch body.members["claimsMatchingExpression"] {
        case nil, .null?: expression = nil
        case .string(let text)?: expression = text
        case .object(let object)?:
            guard let text = object["value"]?.stringValue, object.keys.allSatisfy({ ["value", "languageVersion"].contains($0) }),
                object["languageVersion"].map({ $0 == .number(1) }) ?? true
            else {
                throw AdminError.badRequest(
                    "claimsMatchingExpression must be {\"value\": \"EXPRESSION\", \"languageVersion\": 1} or the expression as a string.",
                    target: "claimsMatchingExpression")
            }
            expression = text
        case let other?:
            throw AdminError.badRequest("claimsMatchingExpression must be an object or a string, not \(other.typeName).", target: "claimsMatchingExpression")
        }
        let credential = FederatedIdentityCredential(
            id: Self.newId(), applicationId: app.objectId, name: try body.requiredString("name"), issuer: try body.requiredString("issuer"),
            subject: try body.string("subject"), claimsMatchingExpression: expression,
            audiences: try body.stringArray("audiences", maximum: 10) ?? [FederationRules.defaultAudience],
            description: try body.string("description") ?? "", createdAt: Date())
        try FederationRules.check(credential)
        let json = AdminJSON.federatedCredential(credential)
        try await store.addFederatedCredential(credential, audit: caller.audit(
            "\(Self.auditTarget(app)).federatedIdentityCredential.add", targetType: Self.auditTarget(app), targetId: Self.auditTargetId(app), after: json))
        return .json(json, status: .created)
    }

    func trustIssuer(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["issuer", "caCertificate"])
        let issuer = try body.requiredString("issuer")
        try FederationRules.checkIssuer(issuer)
        let ca = try body.string("caCertificate")
        if let ca {
            guard ca.utf8.count <= 64 * 1024, (try? NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))?.isEmpty == false else {
                throw AdminError.badRequest("caCertificate must be one or more PEM certificates (at most 64 KiB).", target: "caCertificate")
            }
        }
        let trusted = TrustedIssuer(issuer: issuer, caPEM: ca, createdAt: Date())
        let json = AdminJSON.trustedIssuer(trusted)
        try await store.trustIssuer(trusted, tenantId: caller.tenant.id, audit: caller.audit(
            "trustedIssuer.add", targetType: "trustedIssuer", targetId: issuer, after: json))
        return .json(json, status: .created)
    }
}
