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

/// Checks the bearer token of an admin call: an access token for the admin API
/// (`AccessTokenVerifier`) issued to a principal that holds at least one admin role (what each
/// role permits is checked per route by `AdminAPI.authorize`).
struct AdminAuthenticator {
    let api: AdminAPI
    var store: Store { api.store }

    func authenticate(_ request: Request, context: SigilRequestContext, correlationId: String) async throws -> AdminCaller {
        let tenant: Tenant
        let app: AppRegistration
        do {
            (tenant, app) = try await AccessTokenVerifier(store: store, keys: api.keys, urls: api.urls)
                .verify(request.headers[.authorization], resource: AdminAPI.identifierUri, scope: AdminAPI.scope + " (sigil login does this)")
        } catch let rejection as AccessTokenVerifier.Rejection {
            throw AdminError.unauthorized(rejection.message)
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
