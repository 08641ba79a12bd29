import Crypto
import Foundation
import SigilCore
import SigilStore

/// Client authentication in one place (as node-oidc-provider's `client_auth`): a secret checked
/// against the app's salted hashes, or a `private_key_jwt` assertion checked against the app's
/// registered keys. The algorithm always comes from the registered key, never from the token.
struct ClientAuthenticator {
    let store: Store
    let urls: ServerURLs
    let tenant: Tenant
    let now: Date

    struct Proof {
        let type: CredentialType
        let credentialId: String
    }

    func authenticate(_ client: AppRegistration, credential: ClientCredential) async throws(OAuthError) -> Proof {
        switch credential {
        case .secret(let secret, _): try await authenticateSecret(secret, client: client)
        case .assertion(let assertion): try await authenticateAssertion(assertion, client: client)
        }
    }

    private func authenticateSecret(_ secret: String, client: AppRegistration) async throws(OAuthError) -> Proof {
        if case .failure(let problem) = SigilSecretFormat.validate(secret) {
            throw .invalidSecret(client.appId, detail: "is not a Sigil client secret: \(problem)")
        }
        let credentials: [PasswordCredential]
        do {
            credentials = try await store.passwordCredentials(applicationId: client.objectId)
        } catch {
            throw .serverError()
        }
        // Check every credential so the time taken does not say which one (if any) matched.
        var matched: PasswordCredential?
        for credential in credentials where credential.hash.matches(secret: secret) { matched = credential }
        guard let matched else { throw .invalidSecret(client.appId) }
        guard now < matched.endDateTime else { throw .expiredSecret(client.appId, keyId: matched.keyId) }
        guard now >= matched.startDateTime else { throw .secretNotYetValid(client.appId, keyId: matched.keyId) }
        return Proof(type: .clientSecret, credentialId: matched.keyId)
    }

    private func authenticateAssertion(_ assertion: String, client: AppRegistration) async throws(OAuthError) -> Proof {
        let jws: CompactJWS
        do {
            jws = try CompactJWS(parsing: assertion)
            _ = try jws.algorithm()
        } catch {
            throw .malformedAssertion(error.reason)
        }
        let registered: [KeyCredential]
        do {
            registered = try await store.keyCredentials(applicationId: client.objectId)
        } catch {
            throw .serverError()
        }
        let credential = try Self.select(from: registered, header: jws.header, clientId: client.appId)
        if let end = credential.endDateTime, end < now {
            throw .badAssertionSignature("the registered key \(credential.keyId) expired on \(end.iso8601)")
        }
        let key: VerificationKey
        do {
            key = try credential.verificationKey()
        } catch {
            throw .serverError()
        }
        do {
            try jws.verify(with: key)
        } catch {
            throw .badAssertionSignature(error.reason)
        }
        let rules = ClientAssertionRules(clientId: client.appId, audiences: urls.tokenAudiences(tenantId: tenant.id), now: now)
        let accepted = try rules.check(jws.claims)
        let replayKey = client.appId + ":" + Base64URL.encode(SHA256.hash(data: Data(accepted.jti.utf8)))
        let fresh: Bool
        do {
            fresh = try await store.rememberAssertion(id: replayKey, expiresAt: accepted.expiresAt.addingTimeInterval(ClientAssertionRules.clockSkew))
        } catch {
            throw .serverError()
        }
        guard fresh else { throw .assertionReplayed() }
        return Proof(
            type: credential.kind == .certificate ? .certificate : .clientAssertion,
            credentialId: credential.x5t.flatMap { Base64URL.decode($0) }.map { $0.map { String(format: "%02X", $0) }.joined() } ?? credential.kid)
    }

    /// Picks the registered key the header names by `x5t#S256`, `x5t`, `x5c` or `kid`. Headers
    /// that point elsewhere (`jku`, `x5u`, `jwk`) are never followed.
    static func select(from registered: [KeyCredential], header: [String: JSONValue], clientId: String) throws(OAuthError) -> KeyCredential {
        // msal pads its base64url thumbprints with '='; Entra accepts both forms, so does Sigil.
        let unpadded = { (value: String) in String(value.reversed().drop { $0 == "=" }.reversed()) }
        if let thumbprint = header["x5t#S256"]?.stringValue.map(unpadded) {
            if let match = registered.first(where: { $0.x5tS256 == thumbprint }) { return match }
            throw .assertionKeyNotFound("no certificate registered for app '\(clientId)' has x5t#S256 '\(thumbprint)'")
        }
        if let thumbprint = header["x5t"]?.stringValue.map(unpadded) {
            if let match = registered.first(where: { $0.x5t == thumbprint }) { return match }
            throw .assertionKeyNotFound("no certificate registered for app '\(clientId)' has x5t '\(thumbprint)'")
        }
        if let chain = header["x5c"]?.arrayValue, let leaf = chain.first?.stringValue {
            let certificate: CertificateCredential
            do {
                certificate = try CertificateCredential(base64DER: leaf)
            } catch {
                throw .malformedAssertion(error.reason)
            }
            if let match = registered.first(where: { $0.x5tS256 == certificate.x5tS256 }) { return match }
            throw .assertionKeyNotFound("the x5c leaf certificate (thumbprint \(certificate.thumbprintHex)) is not registered for app '\(clientId)'")
        }
        if let kid = header["kid"]?.stringValue {
            if let match = registered.first(where: { $0.kid == kid || $0.x5tS256 == kid || $0.x5t == kid }) { return match }
            throw .assertionKeyNotFound("no key registered for app '\(clientId)' has kid '\(kid)'")
        }
        throw .assertionKeyNotFound("the assertion header names no key; send x5t#S256, x5t or kid")
    }
}
