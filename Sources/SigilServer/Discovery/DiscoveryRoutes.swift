import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// OpenID Connect discovery, RFC 8414 metadata and the JWKS, at Entra's paths so that msal and
/// azure-identity find them from `authority=https://HOST/TENANT`.
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
            guard try await directory.tenant(id: context.parameters.require("tenant")) != nil else { return notFound(context) }
            return Response.json(["keys": .array(keys.jwks())], headers: [.cacheControl: cacheControl])
        }
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

    private func notFound(_ context: SigilRequestContext) -> Response {
        .json(["error": "invalid_tenant", "error_description": "Tenant not found."], status: .notFound)
    }
}
