import Foundation
import Logging
import SigilCore

/// Workload identity federation: a token another issuer gave the workload (a Kubernetes
/// service-account token, a CI system's OIDC token), presented as the client assertion and
/// matched against the client's federated identity credentials.
///
/// The issuer is matched first, before anything is fetched, so a stranger cannot make Sigil fetch
/// an address of their choosing. The signature is checked with the issuer's published keys (or,
/// for Sigil's own issuer, with Sigil's keys) before the subject and audience are compared, so
/// only a genuine token learns which of them did not match. External tokens are not single-use:
/// workloads present the same token until it expires, as Entra allows.
struct FederatedAuthenticator {
    let directory: DirectoryCache
    let keyCache: IssuerKeyCache
    let signingKeys: SigningKeyRing
    let urls: ServerURLs
    let logger: Logger

    func authenticate(
        _ jws: CompactJWS, issuer: String, client: DirectoryCache.Client, tenantId: String, generation: Int64, now: Date
    ) async throws(OAuthError) -> ClientAuthenticator.Proof {
        // A disabled federated credential matches nothing, as if it were not there.
        let candidates = client.federatedCredentials.filter { $0.issuer == issuer && $0.disabledAt == nil }
        guard !candidates.isEmpty else { throw .federatedIssuerMismatch(issuer, clientId: client.app.appId) }
        let kid = jws.header["kid"]?.stringValue
        var claims = jws.claims
        if issuer != urls.issuer(tenantId: tenantId), issuer.hasPrefix(urls.baseURL + "/") {
            // Another tenant of this server: never fetched, never trusted (its applications'
            // tokens would otherwise pass as federated credentials here).
            throw .sigilTokenNotACredential("of another tenant of this server")
        }
        if issuer == urls.issuer(tenantId: tenantId) {
            // Sigil's own access tokens are not credentials, except a managed identity's: that is
            // how a managed identity stands in for an app's secret (Entra allows the same).
            guard let kid, let key = signingKeys.verificationKey(kid: kid) else {
                throw .badAssertionSignature("the token names no signing key this server publishes")
            }
            try Self.verify(jws, with: [.init(key: key, algorithm: nil)], issuer: issuer)
            guard claims["cred_type"]?.stringValue == CredentialType.managedIdentity.rawValue else {
                throw .sigilTokenNotACredential(claims["cred_type"]?.stringValue ?? "none")
            }
            claims["aud"] = try await audienceWithIdentifiers(claims, tenantId: tenantId, generation: generation)
        } else {
            let trusted = try await TokenEndpoint.lookup(logger: logger) {
                try await directory.trustedIssuer(tenantId: tenantId, issuer: issuer, generation: generation)
            }
            let keys = try await keyCache.keys(
                issuer: issuer, kid: kid, trusted: trusted.flatMap { BoundedFetcher.TrustedOrigin(url: $0.issuer, caPEM: $0.caPEM) }, now: now)
            try Self.verify(jws, with: keys, issuer: issuer)
        }
        let accepted = try FederatedAssertionRules(candidates: candidates, now: now).match(claims)
        return .init(
            type: .federatedIdentityCredential, credentialId: accepted.id, assertionId: nil,
            secretless: SecretlessSignIn(
                federatedIssuer: String(issuer.prefix(600)), federatedSubject: claims["sub"]?.stringValue.map { String($0.prefix(600)) }),
            addedAt: accepted.createdAt)
    }

    /// Accepts the signature when one of the issuer's keys verifies it with the algorithm that
    /// key allows (and, when its JWK names one, with that algorithm only).
    static func verify(_ jws: CompactJWS, with keys: [IssuerKeyCache.IssuerKey], issuer: String) throws(OAuthError) {
        var reason = "issuer '\(OAuthError.quoted(issuer))' publishes no key that fits"
        for entry in keys {
            do throws(JWSError) {
                if let algorithm = entry.algorithm, try jws.algorithm() != algorithm {
                    throw JWSError("alg \((try? jws.algorithm().rawValue) ?? "") does not fit the key, which its issuer published for \(algorithm.rawValue)")
                }
                try jws.verify(with: entry.key)
                return
            } catch {
                reason = error.reason
            }
        }
        throw .badAssertionSignature(keys.count == 1 ? reason : "the signature does not verify with any key of issuer '\(OAuthError.quoted(issuer))'")
    }

    /// A Sigil token's `aud` is the resource's appId; a credential names the audience by its
    /// identifier URI (`api://AzureADTokenExchange`), so both count.
    func audienceWithIdentifiers(_ claims: [String: JSONValue], tenantId: String, generation: Int64) async throws(OAuthError) -> JSONValue {
        guard let aud = claims["aud"]?.stringValue else { return claims["aud"] ?? .null }
        let resource = try await TokenEndpoint.lookup(logger: logger) {
            try await directory.resource(tenantId: tenantId, identifier: aud, generation: generation)
        }
        return .array(([aud] + (resource?.identifierUris ?? [])).map(JSONValue.string))
    }
}
