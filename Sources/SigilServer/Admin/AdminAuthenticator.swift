import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// The authenticated caller of an admin API request.
struct AdminCaller {
    let tenant: Tenant
    let app: AppRegistration
    /// What the caller's role assignments let it do, read for each request.
    let grants: RoleGrants
    let ipAddress: String
    let correlationId: String

    func audit(_ action: String, targetType: String, targetId: String, before: JSONValue? = nil, after: JSONValue? = nil, succeeded: Bool = true) -> AuditEvent {
        AuditEvent(
            time: Date(), tenantId: tenant.id, actorId: app.servicePrincipalId, actorName: app.displayName, action: action,
            targetType: targetType, targetId: targetId, before: before, after: after, ipAddress: ipAddress,
            succeeded: succeeded, correlationId: correlationId)
    }
}

/// Checks the bearer token of an admin call: a Sigil access token for the admin API, signed by a
/// published key, unexpired, issued to a principal that holds at least one admin role (what each
/// role permits is checked per route by `AdminAPI.authorize`).
struct AdminAuthenticator {
    static let clockSkew: TimeInterval = 60

    let api: AdminAPI
    var store: Store { api.store }
    var keys: SigningKeyRing { api.keys }
    var urls: ServerURLs { api.urls }

    func authenticate(_ request: Request, context: SigilRequestContext, correlationId: String) async throws -> AdminCaller {
        guard let header = request.headers[.authorization] else {
            throw AdminError.unauthorized("The request has no bearer token. Get one for scope \(AdminAPI.scope) (sigil login does this).")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw AdminError.unauthorized("The Authorization header must be 'Bearer TOKEN'.")
        }
        let jws: CompactJWS
        do {
            jws = try CompactJWS(parsing: String(parts[1]))
        } catch {
            throw AdminError.unauthorized("The bearer token is malformed: \(error.reason).")
        }
        guard let kid = jws.header["kid"]?.stringValue, let key = keys.verificationKey(kid: kid) else {
            throw AdminError.unauthorized("The bearer token is not signed by a key this server publishes.")
        }
        do {
            try jws.verify(with: key)
        } catch {
            throw AdminError.unauthorized("The bearer token's signature is invalid.")
        }
        let claims = jws.claims
        guard let tenantId = claims["tid"]?.stringValue, let tenant = try await store.tenant(id: tenantId),
            claims["iss"]?.stringValue == urls.issuer(tenantId: tenantId)
        else {
            throw AdminError.unauthorized("The bearer token was issued for another tenant or server.")
        }
        guard let adminAPI = try await store.resource(tenantId: tenant.id, identifier: AdminAPI.identifierUri),
            claims["aud"]?.stringValue == adminAPI.appId
        else {
            throw AdminError.unauthorized("The bearer token is not for the admin API; request scope \(AdminAPI.scope).")
        }
        let now = Date().timeIntervalSince1970
        guard let exp = claims["exp"]?.numericDate, exp + Self.clockSkew > now else {
            throw AdminError.unauthorized("The bearer token has expired; get a new one.")
        }
        if let nbf = claims["nbf"]?.numericDate, nbf - Self.clockSkew > now {
            throw AdminError.unauthorized("The bearer token is not valid yet.")
        }
        guard let appId = claims["appid"]?.stringValue, let app = try await store.application(tenantId: tenant.id, appId: appId), app.enabled else {
            throw AdminError.unauthorized("The application the bearer token was issued to no longer exists or is disabled.")
        }
        // Assignments are read per request, not taken from the token: an unassigned role stops at once.
        let grants = try await api.grants(for: app)
        let caller = AdminCaller(tenant: tenant, app: app, grants: grants, ipAddress: context.clientAddress, correlationId: correlationId)
        guard !grants.isEmpty else {
            let path = String(request.uri.path.prefix(200))
            try? await store.recordAudit(caller.audit("admin.denied", targetType: "request", targetId: "\(request.method) \(path)", succeeded: false))
            throw AdminError.forbidden("'\(app.displayName)' holds no admin role; an administrator can assign one with `sigil role assign ROLE --to \"\(app.displayName)\"`.")
        }
        return caller
    }
}
