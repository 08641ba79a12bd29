import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Checks a Sigil access token: signed by a published key, issued by this server for a tenant it
/// has, for the expected audience, unexpired, to an application that still exists and is
/// enabled, and not revoked by an incident's containment (`TokenRevocation`). Sigil's own
/// resources (the admin API, the vault) check their bearer tokens with it, and introspection
/// the tokens it is asked about.
struct AccessTokenVerifier {
    static let clockSkew: TimeInterval = 60

    /// Why a token was refused, in one sentence that says what to do.
    struct Rejection: Error {
        let message: String
        /// True when no token was sent at all (Key Vault answers that with a bare challenge).
        var missing = false
    }

    /// A token that passed every check.
    struct Verified {
        let tenant: Tenant
        /// The application (or managed identity) it was issued to.
        let app: AppRegistration
        let claims: [String: JSONValue]
    }

    let store: Store
    let keys: SigningKeyRing
    let urls: ServerURLs

    /// The tenant and application the token in `authorization` was issued to, when it is a valid
    /// token for the resource whose identifier URI is `resource`; `scope` is what to ask for instead.
    func verify(_ authorization: String?, resource: String, scope: String) async throws -> (tenant: Tenant, app: AppRegistration) {
        guard let authorization else {
            throw Rejection(message: "The request has no bearer token. Get one for scope \(scope).", missing: true)
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Rejection(message: "The Authorization header must be 'Bearer TOKEN'.")
        }
        let verified = try await check(String(parts[1]), otherAudience: "The bearer token is for another resource; request scope \(scope).") { tenant in
            try await store.resource(tenantId: tenant.id, identifier: resource)?.appId
        }
        return (verified.tenant, verified.app)
    }

    /// Checks `token` whose `aud` must be what `audience` answers for its tenant (nil: no audience will do).
    func check(_ token: String, otherAudience: String, audience: (Tenant) async throws -> String?) async throws -> Verified {
        let jws: CompactJWS
        do {
            jws = try CompactJWS(parsing: token)
        } catch {
            throw Rejection(message: "The bearer token is malformed: \(error.reason).")
        }
        guard let kid = jws.header["kid"]?.stringValue, let key = keys.verificationKey(kid: kid) else {
            throw Rejection(message: "The bearer token is not signed by a key this server publishes.")
        }
        do {
            try jws.verify(with: key)
        } catch {
            throw Rejection(message: "The bearer token's signature is invalid.")
        }
        let claims = jws.claims
        guard let tenantId = claims["tid"]?.stringValue, let tenant = try await store.tenant(id: tenantId),
            claims["iss"]?.stringValue == urls.issuer(tenantId: tenantId)
        else {
            throw Rejection(message: "The bearer token was issued for another tenant or server.")
        }
        guard let expected = try await audience(tenant), claims["aud"]?.stringValue == expected else {
            throw Rejection(message: otherAudience)
        }
        let now = Date()
        guard let exp = claims["exp"]?.numericDate, exp + Self.clockSkew > now.timeIntervalSince1970 else {
            throw Rejection(message: "The bearer token has expired; get a new one.")
        }
        if let nbf = claims["nbf"]?.numericDate, nbf - Self.clockSkew > now.timeIntervalSince1970 {
            throw Rejection(message: "The bearer token is not valid yet.")
        }
        guard let appId = claims["appid"]?.stringValue, let app = try await store.application(tenantId: tenant.id, appId: appId), app.enabled else {
            throw Rejection(message: "The application the bearer token was issued to no longer exists or is disabled.")
        }
        if let revocation = try await store.tokenRevocation(servicePrincipalId: app.servicePrincipalId, now: now),
            revocation.revokes(issuedAt: claims["iat"]?.integerValue ?? 0)
        {
            throw Rejection(message: "The bearer token was revoked when its service principal was contained; get a new one.")
        }
        return Verified(tenant: tenant, app: app, claims: claims)
    }
}
