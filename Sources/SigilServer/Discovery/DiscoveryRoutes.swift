import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import SigilCore
import SigilStore

/// OpenID Connect discovery, RFC 8414 metadata and the JWKS, at Entra's paths so that msal and
/// azure-identity find them from `authority=https://HOST/TENANT`; and the revocation list of
/// contained service principals' tokens, which resource servers poll (docs/incident.md).
struct DiscoveryRoutes {
    let directory: DirectoryCache
    let keys: SigningKeyRing
    let urls: ServerURLs
    /// `Cache-Control` of the JWKS and metadata: how long resource servers may keep them.
    let cacheControl: String

    func register(on router: Router<SigilRequestContext>) {
        router.get("/{tenant}/v2.0/.well-known/openid-configuration") { _, context in
            try await metadata(context.parameters.require("tenant"))
        }
        router.get("/.well-known/oauth-authorization-server/{tenant}/v2.0") { _, context in
            try await metadata(context.parameters.require("tenant"))
        }
        router.get("/{tenant}/discovery/v2.0/keys") { _, context in
            guard try await directory.tenant(id: context.parameters.require("tenant")) != nil else { return notFound() }
            return Response.json(["keys": .array(keys.jwks())], headers: [.cacheControl: cacheControl])
        }
        router.get("/{tenant}/discovery/v2.0/revocations") { request, context in
            try await revocationList(request, tenantId: context.parameters.require("tenant"))
        }
    }

    /// How long a resource server may keep the revocation list: short, since it is how a
    /// containment reaches resources that do not introspect.
    static let revocationListMaxAge = 30

    /// `{"issuer", "revoked": [{"sub", "appid", "issuedAtOrBefore", "until"}]}`: refuse a token whose
    /// `sub` is listed and whose `iat` is at or before `issuedAtOrBefore` (both NumericDates).
    /// An entry stays until `until`, when every token it covers has expired. With an ETag, so a
    /// poll that finds nothing new is a `304`.
    private func revocationList(_ request: Request, tenantId: String) async throws -> Response {
        guard try await directory.tenant(id: tenantId) != nil else { return notFound() }
        let revocations = try await directory.store.tokenRevocations(tenantId: tenantId, now: Date())
        let entries: [JSONValue] = revocations.map { revocation in
            let issuedAtOrBefore = Int64(revocation.revokedBefore.timeIntervalSince1970.rounded(.down))
            let until = Int64(revocation.expiresAt.timeIntervalSince1970.rounded(.up))
            return .object([
                "sub": .string(revocation.servicePrincipalId), "appid": .string(revocation.appId),
                "issuedAtOrBefore": .integer(issuedAtOrBefore), "until": .integer(until),
            ])
        }
        let list = JSONValue.object(["issuer": .string(urls.issuer(tenantId: tenantId)), "revoked": .array(entries)])
        let etag = "\"" + Base64URL.encode(SHA256.hash(data: Data(list.serialized().utf8))) + "\""
        let headers: HTTPFields = [.cacheControl: "public, max-age=\(Self.revocationListMaxAge)", .eTag: etag]
        if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
        return .json(list, headers: headers)
    }

    private func metadata(_ tenantId: String) async throws -> Response {
        guard try await directory.tenant(id: tenantId) != nil else {
            return .json(["error": "invalid_tenant", "error_description": .string("Tenant '\(tenantId)' not found.")], status: .notFound)
        }
        let algorithms: JSONValue = ["ES256", "RS256"]
        return .json([
            "issuer": .string(urls.issuer(tenantId: tenantId)),
            "token_endpoint": .string(urls.tokenEndpoint(tenantId: tenantId)),
            // msal requires an authorization endpoint in the document; Sigil issues app-only
            // tokens, so this one answers every request with unsupported_response_type.
            "authorization_endpoint": .string("\(urls.authority(tenantId: tenantId))/oauth2/v2.0/authorize"),
            "jwks_uri": .string(urls.jwksURI(tenantId: tenantId)),
            "introspection_endpoint": .string(urls.introspectionEndpoint(tenantId: tenantId)),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            // Not a registered metadata name: Sigil's list of revoked tokens (docs/incident.md).
            "revocation_list_uri": .string(urls.revocationListURI(tenantId: tenantId)),
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["pairwise"],
            "scopes_supported": [],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
            "id_token_signing_alg_values_supported": algorithms,
            "claims_supported": ["iss", "aud", "sub", "oid", "tid", "appid", "azp", "roles", "idtyp", "iat", "nbf", "exp", "jti"],
            "tenant_region_scope": .null,
            "cloud_instance_name": .string(URL(string: urls.baseURL)?.host ?? "localhost"),
        ], headers: [.cacheControl: cacheControl])
    }

    private func notFound() -> Response {
        .json(["error": "invalid_tenant", "error_description": "Tenant not found."], status: .notFound)
    }
}
