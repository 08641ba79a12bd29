import Foundation
import Hummingbird
import Logging
import SigilCore
import SigilStore

/// The admin API under `/admin/v1`: JSON over HTTPS, described by `openapi.yaml`. Every call
/// is authenticated by `AdminAuthenticator`; every change is written with its audit event in
/// one transaction.
struct AdminAPI {
    static let identifierUri = "api://sigil-admin"
    static let displayName = "Sigil Admin API"
    static let scope = identifierUri + "/.default"
    /// Most identifier URIs one application may have.
    static let maximumIdentifierUris = 20

    let store: Store
    let keys: SigningKeyRing
    /// Seals what the admin API stores sealed (a vault event subscription's signing key).
    let kek: KeyEncryptionKeys
    let kekRotation: KeyEncryptionKeyRotation
    let urls: ServerURLs
    let logger: Logger
    /// Where vaults are served (their `vaultUri`).
    var vaultDomain = ServerConfiguration.defaultVaultDomain
    let rotator: SecretRotator

    var vaultAddressing: VaultAddressing { VaultAddressing(domain: vaultDomain, urls: urls) }

    typealias Handler = @Sendable (Request, SigilRequestContext, AdminCaller) async throws -> Response

    func register(on router: Router<SigilRequestContext>) {
        let group = router.group("admin/v1")
        group.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: .init(string: OpenAPIDocument.text)))
        }
        for route in routes {
            group.on(RouterPath(route.path), method: route.method, use: authorized(route))
        }
    }

    /// Every admin operation, with the permission it needs.
    var routes: [AdminRoute] { coreRoutes + riskRoutes + federationRoutes + managedIdentityRoutes + hostRoutes + roleRoutes + appManagementPolicyRoutes
        + conditionalAccessRoutes + vaultRoutes + secretRotationRoutes + vaultEventRoutes + keyEncryptionKeyRoutes + reportRoutes
        + migrationRoutes + alertRoutes + dashboardRoutes + incidentRoutes + assessmentRoutes }

    /// Applications, their credentials and roles, the logs, signing keys and risk.
    var coreRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "tenant", .tenantRead, scope: .anyAssignment) { _, _, caller in
                .json([
                    "id": .string(caller.tenant.id), "displayName": .string(caller.tenant.displayName),
                    "authority": .string(urls.authority(tenantId: caller.tenant.id)), "issuer": .string(urls.issuer(tenantId: caller.tenant.id)),
                    "tokenEndpoint": .string(urls.tokenEndpoint(tenantId: caller.tenant.id)), "createdDateTime": .date(caller.tenant.createdAt),
                ])
            },
            AdminRoute(.post, "applications", .applicationsCreate, handler: createApplication),
            AdminRoute(.get, "applications", .applicationsRead) { _, _, caller in
                let apps = try await store.applications(tenantId: caller.tenant.id)
                let risks = try await store.servicePrincipalRisks(tenantId: caller.tenant.id)
                return .json(["value": .array(apps.map { AdminJSON.application($0, risk: risks[$0.servicePrincipalId] ?? .clean) })])
            },
            AdminRoute(.get, "applications/{app}", .applicationsRead, scope: .application("app")) { _, context, caller in
                let app = try await application(context, caller)
                return .json(try await describe(app))
            },
            AdminRoute(.patch, "applications/{app}", .applicationsUpdate, scope: .application("app"), handler: updateApplication),
            AdminRoute(.delete, "applications/{app}", .applicationsDelete, scope: .application("app"), handler: deleteApplication),
            AdminRoute(.post, "applications/{app}/passwordCredentials", .applicationsCredentialsUpdate, scope: .application("app"), handler: addPassword),
            AdminRoute(.delete, "applications/{app}/passwordCredentials/{keyId}", .applicationsCredentialsUpdate, scope: .application("app"), handler: removeCredential),
            AdminRoute(.post, "applications/{app}/keyCredentials", .applicationsCredentialsUpdate, scope: .application("app"), handler: addKey),
            AdminRoute(.delete, "applications/{app}/keyCredentials/{keyId}", .applicationsCredentialsUpdate, scope: .application("app"), handler: removeCredential),
            AdminRoute(.post, "applications/{app}/appRoles", .applicationsUpdate, scope: .application("app"), handler: addRole),
            AdminRoute(.get, "applications/{app}/appRoleAssignments", .applicationsRead, scope: .application("app")) { _, context, caller in
                let app = try await application(context, caller)
                return .json(["value": .array(try await store.appRoleAssignments(applicationId: app.objectId).map(AdminJSON.assignment))])
            },
            AdminRoute(.delete, "applications/{app}/appRoles/{role}", .applicationsUpdate, scope: .application("app"), handler: removeRole),
            AdminRoute(.post, "appRoleAssignments", .applicationsRoleAssignmentsUpdate, handler: grantRole),
            AdminRoute(.delete, "appRoleAssignments/{id}", .applicationsRoleAssignmentsUpdate, handler: revokeRole),
            AdminRoute(.get, "signInLogs", .logsRead) { request, _, caller in
                .json(["value": .array(try await store.signIns(tenantId: caller.tenant.id, query: try logQuery(request)).map(AdminJSON.signIn))])
            },
            AdminRoute(.get, "auditLogs", .logsRead) { request, _, caller in
                .json(["value": .array(try await store.auditEvents(tenantId: caller.tenant.id, query: try logQuery(request)).map(AdminJSON.audit))])
            },
            AdminRoute(.get, "signingKeys", .signingKeysRead) { _, _, _ in
                .json(["value": .array(keys.published().map(AdminJSON.signingKey))])
            },
            AdminRoute(.post, "signingKeys/rotate", .signingKeysRotate, handler: rotateKeys),
            AdminRoute(.post, "leakedCredentials", .secretScanningReport, handler: reportLeaks),
            AdminRoute(.post, "scanBypasses", .secretScanningReport, handler: recordScanBypass),
        ]
    }

    /// Wraps a route's handler with authentication and the route's permission check, and turns
    /// every failure into a Graph-shaped error.
    func authorized(_ route: AdminRoute) -> @Sendable (Request, SigilRequestContext) async throws -> Response {
        let handler = route.handler
        return { request, context in
            let correlationId = TokenEndpoint.correlationId(request)
            do {
                let caller = try await AdminAuthenticator(api: self).authenticate(request, context: context, correlationId: correlationId)
                try await authorize(route, caller, request, context)
                return try await handler(request, context, caller)
            } catch {
                let adminError = AdminError(error)
                if adminError.status == .internalServerError { logger.error("admin API failure: \(error)") }
                return adminError.response(requestId: correlationId)
            }
        }
    }

    /// Lets the call through when the caller's roles carry the route's permission: tenant-wide,
    /// or for an application route, scoped to that application. Otherwise `403` naming the
    /// permission, audited. An application a scoped caller may not see is not looked up for it:
    /// whether it exists or not, the answer is the same `403`.
    func authorize(_ route: AdminRoute, _ caller: AdminCaller, _ request: Request, _ context: SigilRequestContext) async throws {
        try await authorize(route.permission, scope: route.scope, caller, request, context)
    }

    /// `authorize(_:_:_:_:)` for a permission and scope of a request that is not an admin route
    /// (the dashboard's pages).
    func authorize(
        _ permission: AdminPermission, scope: AdminRoute.Scope, _ caller: AdminCaller, _ request: Request, _ context: SigilRequestContext
    ) async throws {
        if caller.grants.allowsTenantWide(permission) { return }
        if scope == .anyAssignment, caller.grants.allowsAtSomeScope(permission) { return }
        var target = "this tenant"
        if case .application(let parameter) = scope, caller.grants.hasApplicationScoped(permission) {
            let reference = try Self.pathParameter(context, parameter)
            target = "application '\(OAuthError.quoted(reference))'"
            if let app = try await store.application(tenantId: caller.tenant.id, reference: reference),
                caller.grants.allows(permission, onApplication: app.objectId)
            {
                return
            }
        }
        let path = String(request.uri.path.prefix(200))
        try? await store.recordAudit(caller.audit(
            "admin.denied", targetType: "request", targetId: "\(request.method) \(path)", after: ["permission": .string(permission.rawValue)],
            succeeded: false))
        let holders = DirectoryRole.builtIn.filter { $0.permissions.contains(permission) }.map(\.displayName).joined(separator: ", ")
        throw AdminError.forbidden(
            "'\(caller.app.displayName)' lacks the permission \(permission.rawValue) for \(target). Built-in roles that carry it: \(holders).")
    }

    // MARK: Applications

    func application(_ context: SigilRequestContext, _ caller: AdminCaller, parameter: String = "app") async throws -> AppRegistration {
        let reference = try Self.pathParameter(context, parameter)
        guard let app = try await store.application(tenantId: caller.tenant.id, reference: reference) else {
            throw AdminError.notFound("No application '\(reference)' in this tenant (looked up by appId, objectId, display name and identifier URI).")
        }
        return app
    }

    func describe(_ app: AppRegistration) async throws -> JSONValue {
        let risk = try await store.servicePrincipalRisks(tenantId: app.tenantId, servicePrincipalId: app.servicePrincipalId)
        return AdminJSON.application(
            app, passwords: try await store.passwordCredentials(applicationId: app.objectId),
            keys: try await store.keyCredentials(applicationId: app.objectId), risk: risk[app.servicePrincipalId] ?? .clean)
    }

    func body(_ request: Request, allowed: Set<String>, limit: Int = maximumBodySize) async throws -> JSONBody {
        try await JSONBody.read(request, allowed: allowed, limit: limit)
    }

    func createApplication(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["displayName", "identifierUris", "appRoleAssignmentRequired", "accessTokenSigningAlgorithm"])
        let displayName = try body.requiredString("displayName")
        try DirectoryRules.checkDisplayName(displayName)
        let uris = try Self.identifierUris(body) ?? []
        let app = AppRegistration(
            objectId: Self.newId(), appId: Self.newId(), tenantId: caller.tenant.id, servicePrincipalId: Self.newId(),
            displayName: displayName, identifierUris: uris, appRoles: [],
            appRoleAssignmentRequired: try body.bool("appRoleAssignmentRequired") ?? false,
            accessTokenSigningAlgorithm: try Self.tokenAlgorithm(body), enabled: true, createdAt: Date())
        let json = AdminJSON.application(app, passwords: [], keys: [])
        try await store.createApplication(app, audit: caller.audit("application.create", targetType: "application", targetId: app.objectId, after: json))
        return .json(AdminJSON.application(app, passwords: [], keys: [], risk: .clean), status: .created, headers: [.location: "/admin/v1/applications/\(app.objectId)"])
    }

    static func tokenAlgorithm(_ body: JSONBody) throws -> JWSAlgorithm {
        guard let name = try body.string("accessTokenSigningAlgorithm") else { return .es256 }
        guard name == "ES256" || name == "RS256" else {
            throw AdminError.badRequest("accessTokenSigningAlgorithm must be ES256 or RS256, not '\(name)'.", target: "accessTokenSigningAlgorithm")
        }
        return JWSAlgorithm(rawValue: name)!
    }

    func updateApplication(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let before = try await application(context, caller)
        let body = try await body(request, allowed: ["displayName", "identifierUris", "appRoleAssignmentRequired", "accessTokenSigningAlgorithm", "accountEnabled"])
        var app = before
        if let name = try body.string("displayName") {
            try DirectoryRules.checkDisplayName(name)
            app.displayName = name
        }
        if let uris = try Self.identifierUris(body) { app.identifierUris = uris }
        if let required = try body.bool("appRoleAssignmentRequired") { app.appRoleAssignmentRequired = required }
        if body.members["accessTokenSigningAlgorithm"] != nil { app.accessTokenSigningAlgorithm = try Self.tokenAlgorithm(body) }
        if let enabled = try body.bool("accountEnabled") { app.enabled = enabled }
        try await refuseLockout(before, after: app, caller: caller)
        try await store.updateApplication(app, audit: caller.audit(
            "application.update", targetType: "application", targetId: app.objectId,
            before: AdminJSON.application(before), after: AdminJSON.application(app)))
        return .json(try await describe(app))
    }

    /// The admin API itself and the caller's own application cannot be disabled, renamed away
    /// from their identifier or deleted: that would lock every administrator out. Nor can the
    /// admin API stop requiring a role: every application could then administer the tenant.
    func refuseLockout(_ before: AppRegistration, after: AppRegistration?, caller: AdminCaller) async throws {
        let isAdminAPI = before.identifierUris.contains(Self.identifierUri)
        let isCaller = before.objectId == caller.app.objectId
        let isLastAdministrator = try await holdsLastAdministrator(before)
        guard isAdminAPI || isCaller || isLastAdministrator else { return }
        let what = isAdminAPI ? "the admin API application" : isCaller ? "the application you are signed in as" : "the last tenant-wide Administrator"
        guard let after else { throw AdminError.forbidden("Refusing to delete \(what): it would lock administrators out.") }
        if !after.enabled { throw AdminError.forbidden("Refusing to disable \(what): it would lock administrators out.") }
        if isAdminAPI, !after.identifierUris.contains(Self.identifierUri) {
            throw AdminError.forbidden("Refusing to remove \(Self.identifierUri) from the admin API application.")
        }
        if isAdminAPI, !after.appRoleAssignmentRequired {
            throw AdminError.forbidden(
                "Refusing to turn off appRoleAssignmentRequired on the admin API application: any application in the tenant could then call the admin API.")
        }
    }

    func deleteApplication(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        try await refuseLockout(app, after: nil, caller: caller)
        try await store.deleteApplication(objectId: app.objectId, audit: caller.audit(
            "application.delete", targetType: "application", targetId: app.objectId, before: AdminJSON.application(app)))
        return Response(status: .noContent)
    }

    // MARK: Credentials

    func addPassword(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let body = try await body(request, allowed: ["displayName", "lifetime", "secretText"])
        let displayName = try body.string("displayName") ?? "client secret"
        try DirectoryRules.checkDisplayName(displayName)
        let requested = try body.string("lifetime")
        let lifetime = try requested.map(DirectoryRules.secretLifetime) ?? DirectoryRules.defaultSecretLifetime
        // A client-chosen value (Graph's legacy secretText) is never echoed back or logged.
        let chosen = try body.string("secretText")
        if let chosen { try DirectoryRules.checkChosenSecret(chosen) }
        let now = Date()
        let secret = chosen ?? SigilSecretFormat.generate(.clientSecret)
        let credential = PasswordCredential.minted(
            secret, keyId: Self.newId(), applicationId: app.objectId, displayName: displayName, start: now, lifetime: lifetime, custom: chosen != nil)
        let judged = PolicyCredential.password(
            lifetime: lifetime, requested: requested ?? ISO8601Duration.text(lifetime) + " (the default)", custom: chosen != nil)
        let json = AdminJSON.passwordCredential(credential)
        try await store.addPasswordCredential(
            credential, audit: caller.audit("application.passwordCredential.add", targetType: "application", targetId: app.objectId, after: json),
            enforce: { try CredentialPolicyCheck.check(judged, appCreatedAt: $1, policy: $0) })
        guard chosen == nil, case .object(var object) = json else { return .json(json, status: .created) }
        object["secretText"] = .string(secret)
        return .json(.object(object), status: .created)
    }

    func removeCredential(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let keyId = try Self.pathParameter(context, "keyId")
        if app.objectId == caller.app.objectId {
            // A revoked secret signs no one in: it does not count.
            let remaining = try await store.passwordCredentials(applicationId: app.objectId).filter { $0.revokedAt == nil }.count
                + (try await store.keyCredentials(applicationId: app.objectId).count)
            guard remaining > 1 else {
                throw AdminError.forbidden("Refusing to remove the last credential of the application you are signed in as: it would lock administrators out.")
            }
        }
        let kind: CredentialKind = request.uri.path.contains("/passwordCredentials/") ? .password : .key
        try await store.removeCredential(kind, applicationId: app.objectId, keyId: keyId, audit: caller.audit(
            "application.\(kind.rawValue).remove", targetType: "application", targetId: app.objectId, before: ["keyId": .string(keyId)]))
        return Response(status: .noContent)
    }

    func addKey(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let body = try await body(request, allowed: ["type", "key", "displayName", "endDateTime"])
        let type = try body.requiredString("type")
        let displayName = try body.string("displayName")
        if let displayName { try DirectoryRules.checkDisplayName(displayName) }
        let now = Date()
        let credential: KeyCredential
        switch type {
        case KeyCredential.Kind.certificate.rawValue:
            guard body.members["endDateTime"] == nil else {
                throw AdminError.badRequest("A certificate's end is its notAfter; endDateTime is for a Jwk only.", target: "endDateTime")
            }
            let pem = try body.requiredString("key")
            let certificate: CertificateCredential
            do {
                certificate = try CertificateCredential(pem: pem)
            } catch {
                throw AdminError.badRequest("'key' is not usable: \(error.reason).", target: "key")
            }
            guard certificate.notValidAfter > now else {
                throw AdminError.badRequest("The certificate expired on \(certificate.notValidAfter.iso8601); register a current one.", target: "key")
            }
            credential = KeyCredential(
                keyId: Self.newId(), applicationId: app.objectId, kind: .certificate, displayName: displayName ?? certificate.subject,
                kid: certificate.x5tS256, x5t: certificate.x5t, x5tS256: certificate.x5tS256, material: pem,
                startDateTime: certificate.notValidBefore, endDateTime: certificate.notValidAfter)
        case KeyCredential.Kind.jwk.rawValue:
            guard let jwk = body.members["key"]?.objectValue else {
                throw AdminError.badRequest("For type Jwk, 'key' must be a JSON Web Key object.", target: "key")
            }
            let key: VerificationKey
            do {
                key = try VerificationKey(jwk: jwk)
            } catch {
                throw AdminError.badRequest("'key' is not usable: \(error.reason).", target: "key")
            }
            let kid = jwk["kid"]?.stringValue ?? key.thumbprint
            guard !kid.isEmpty, kid.count <= 128 else { throw AdminError.badRequest("The JWK's 'kid' must be 1–128 characters.", target: "key") }
            var jwkCredential = KeyCredential.jwk(
                key, kid: kid, keyId: Self.newId(), applicationId: app.objectId, displayName: displayName ?? "key \(kid.prefix(12))", now: now)
            jwkCredential.endDateTime = try Self.keyEnd(body, now: now)
            credential = jwkCredential
        default:
            throw AdminError.badRequest("'type' must be AsymmetricX509Cert or Jwk, not '\(type)'.", target: "type")
        }
        let json = AdminJSON.keyCredential(credential)
        let judged = PolicyCredential(credential)
        try await store.addKeyCredential(
            credential, audit: caller.audit("application.keyCredential.add", targetType: "application", targetId: app.objectId, after: json),
            enforce: { policy, createdAt in
                if let judged { try CredentialPolicyCheck.check(judged, appCreatedAt: createdAt, policy: policy) }
            })
        return .json(json, status: .created)
    }

    /// A JWK's optional `endDateTime`: after now, at most the longest a key may be registered for.
    static func keyEnd(_ body: JSONBody, now: Date) throws -> Date? {
        guard let text = try body.string("endDateTime") else { return nil }
        guard let end = RFC3339.date(text), end > now else {
            throw AdminError.badRequest("endDateTime must be a date-time in the future, such as 2027-01-31T00:00:00Z.", target: "endDateTime")
        }
        return end
    }

    // MARK: Roles

    func addRole(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        try Self.refuseAdminAPIAppRoles(app)
        let body = try await body(request, allowed: ["value", "displayName", "description"])
        let value = try body.requiredString("value")
        try DirectoryRules.checkRoleValue(value)
        let displayName = try body.string("displayName") ?? value
        try DirectoryRules.checkDisplayName(displayName)
        let description = try body.string("description") ?? ""
        guard description.count <= 1024, !description.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw AdminError.badRequest("'description' may be at most 1024 characters, without NUL.", target: "description")
        }
        let role = AppRole(id: Self.newId(), value: value, displayName: displayName, description: description)
        let json = AdminJSON.appRole(role)
        try await store.addAppRole(role, applicationId: app.objectId, audit: caller.audit(
            "application.appRole.add", targetType: "application", targetId: app.objectId, after: json))
        return .json(json, status: .created)
    }

    func removeRole(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let reference = context.parameters.get("role") ?? ""
        guard let role = app.appRoles.first(where: { $0.id == reference || $0.value == reference }) else {
            throw AdminError.notFound("'\(app.displayName)' has no role '\(reference)'.")
        }
        try await store.removeAppRole(role.id, applicationId: app.objectId, audit: caller.audit(
            "application.appRole.remove", targetType: "application", targetId: app.objectId, before: AdminJSON.appRole(role)))
        return Response(status: .noContent)
    }

    /// Admin rights are directory roles, not app roles of the admin API application.
    static func refuseAdminAPIAppRoles(_ app: AppRegistration) throws {
        guard app.identifierUris.contains(identifierUri) else { return }
        throw AdminError.badRequest(
            "The admin API's rights are directory roles, not app roles: use `sigil role assign ROLE --to PRINCIPAL` (`sigil role list` shows the roles).")
    }

    func revokeRole(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        try await store.removeAppRoleAssignment(id: id, tenantId: caller.tenant.id, audit: { assignment, principalObjectId in
            caller.audit("appRoleAssignment.remove", targetType: "application", targetId: principalObjectId, before: AdminJSON.assignment(assignment))
        })
        return Response(status: .noContent)
    }

    func grantRole(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["principalId", "resourceId", "appRoleId"])
        let principalRef = try body.requiredString("principalId")
        let resourceRef = try body.requiredString("resourceId")
        let roleRef = try body.requiredString("appRoleId")
        // Managed identities are clients like applications: they may hold roles.
        guard let principal = try await store.application(
            tenantId: caller.tenant.id, reference: principalRef, kinds: [.application, .userAssignedIdentity, .systemAssignedIdentity])
        else {
            throw AdminError.notFound("No application or managed identity '\(principalRef)' in this tenant to grant the role to.")
        }
        guard let resource = try await store.application(tenantId: caller.tenant.id, reference: resourceRef) else {
            throw AdminError.notFound("No application '\(resourceRef)' in this tenant whose role to grant.")
        }
        try Self.refuseAdminAPIAppRoles(resource)
        guard let role = resource.appRoles.first(where: { $0.id == roleRef || $0.value == roleRef }) else {
            let available = resource.appRoles.map(\.value).joined(separator: ", ")
            throw AdminError.notFound("'\(resource.displayName)' has no role '\(roleRef)'\(available.isEmpty ? "; add one with `sigil app role add`" : "; it has: \(available)").")
        }
        let assignment = AppRoleAssignment(
            id: Self.newId(), principalId: principal.servicePrincipalId, principalDisplayName: principal.displayName,
            resourceId: resource.servicePrincipalId, resourceDisplayName: resource.displayName, appRoleId: role.id,
            appRoleValue: role.value, createdAt: Date())
        let json = AdminJSON.assignment(assignment)
        try await store.addAppRoleAssignment(
            assignment, principalAppId: principal.objectId, resourceAppId: resource.objectId, tenantId: caller.tenant.id,
            audit: caller.audit("appRoleAssignment.add", targetType: "application", targetId: principal.objectId, after: json))
        return .json(json, status: .created)
    }

    // MARK: Logs and keys

    func logQuery(_ request: Request) throws -> LogQuery {
        let parameters = request.uri.queryParameters
        var query = LogQuery()
        for (name, _) in parameters where !["appId", "result", "since", "until", "top"].contains(String(name)) {
            throw AdminError.badRequest("Unknown query parameter '\(name)'. Allowed: appId, result, since, until, top.", target: String(name))
        }
        query.appId = parameters["appId"].map(String.init)
        if let appId = query.appId, appId.count > 256 || appId.containsControlCharacters {
            throw AdminError.badRequest("appId must be at most 256 characters without control characters.", target: "appId")
        }
        if let result = parameters["result"] {
            switch result {
            case "success": query.succeeded = true
            case "failure": query.succeeded = false
            default: throw AdminError.badRequest("result must be success or failure, not '\(result)'.", target: "result")
            }
        }
        query.since = try Self.queryDate(request, "since")
        query.until = try Self.queryDate(request, "until")
        query.limit = try Self.queryTop(request) ?? query.limit
        return query
    }

    /// The date-time query parameter `name`, if given.
    static func queryDate(_ request: Request, _ name: String) throws -> Date? {
        guard let text = request.uri.queryParameters[name[...]].map(String.init) else { return nil }
        guard let date = RFC3339.date(text) else {
            throw AdminError.badRequest("\(name) must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z, not '\(OAuthError.quoted(text))'.", target: name)
        }
        return date
    }

    /// The `top` query parameter (1–1000), if given.
    static func queryTop(_ request: Request) throws -> Int? {
        guard let top = request.uri.queryParameters["top"] else { return nil }
        guard let limit = Int(top), (1...1000).contains(limit) else {
            throw AdminError.badRequest("top must be a number from 1 to 1000.", target: "top")
        }
        return limit
    }

    func rotateKeys(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        var algorithms: [JWSAlgorithm] = [.es256, .rs256]
        if request.headers[.contentLength].flatMap(Int.init) ?? 0 > 0 {
            let body = try await body(request, allowed: ["algorithm"])
            if let name = try body.string("algorithm") {
                guard let algorithm = JWSAlgorithm(rawValue: name), algorithm != .ps256 else {
                    throw AdminError.badRequest("algorithm must be ES256 or RS256.", target: "algorithm")
                }
                algorithms = [algorithm]
            }
        }
        // All or none: a refusal for one algorithm leaves the other unrotated too.
        try await keys.refresh()
        if let blocker = algorithms.lazy.compactMap({ self.keys.promotionBlocker($0) }).first {
            throw AdminError(status: .conflict, code: "Conflict", message: blocker.description)
        }
        for algorithm in algorithms { try await keys.rotate(algorithm) }
        let published = keys.published()
        try await store.recordAudit(caller.audit(
            "signingKeys.rotate", targetType: "signingKeys", targetId: algorithms.map(\.rawValue).joined(separator: ","),
            after: .array(published.filter { $0.state == .active }.map(AdminJSON.signingKey))))
        return .json(["value": .array(published.map(AdminJSON.signingKey))])
    }

    static func newId() -> String { RandomIdentifier.uuid() }

    /// A path parameter, percent-decoded (the router hands them over raw; names and identifier
    /// URIs arrive encoded).
    static func pathParameter(_ context: SigilRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = raw.removingPercentEncoding, !decoded.containsControlCharacters else {
            throw AdminError.badRequest("The path segment '\(OAuthError.quoted(raw))' is not valid percent-encoded text without control characters.")
        }
        return decoded
    }

    /// Identifier URIs from a request body: each valid, none repeated.
    static func identifierUris(_ body: JSONBody) throws -> [String]? {
        guard let uris = try body.stringArray("identifierUris", maximum: maximumIdentifierUris) else { return nil }
        for uri in uris { try DirectoryRules.checkIdentifierUri(uri) }
        guard Set(uris).count == uris.count else {
            throw AdminError.badRequest("identifierUris lists the same URI twice.", target: "identifierUris")
        }
        return uris
    }
}
