import Crypto
import Foundation
import SigilCore

/// Client authentication in one place (as node-oidc-provider's `client_auth`): it picks the
/// authenticator for the credential the client presented.
///
/// - a secret: `SecretAuthenticator`, against the app's salted hashes;
/// - an assertion whose `iss` is the client itself: signed with a key registered on the app
///   (`private_key_jwt`), or for a managed identity with the key of a host that may vouch for it
///   (`ManagedIdentityAuthenticator`);
/// - an assertion from anyone else: a token of an external issuer, matched against the client's
///   federated credentials (`FederatedAuthenticator`).
///
/// The algorithm always comes from the key, never from the token.
struct ClientAuthenticator {
    let directory: DirectoryCache
    let tenantId: String
    let generation: Int64
    /// The token endpoint URLs a client assertion's `aud` may name.
    let audiences: [String]
    let federation: FederatedAuthenticator
    let now: Date

    struct Proof {
        let type: CredentialType
        let credentialId: String
        /// For a key-signed assertion: its id, which must not have been used before.
        let assertionId: String?
        var secretless = SecretlessSignIn()
        /// When the credential was added (a secret's or key's start, a federated credential's
        /// creation), for `suspiciousCredentialAddition`; nil for a host's key.
        var addedAt: Date?
    }

    /// A credential as the request presented it: parsed once, and classified for the sign-in
    /// log, which records the type and, for an external token, the issuer and subject it claims
    /// even when authentication then refuses it (the proof replaces them when it succeeds).
    struct Presented {
        enum Credential {
            case secret(String)
            case assertion(CompactJWS)
            /// An assertion refused before any key is looked at.
            case malformed(OAuthError)
        }

        let credential: Credential
        let type: CredentialType?
        var secretless = SecretlessSignIn()
        /// An external token, for the client's federated credentials.
        var federated = false
    }

    /// Parses and classifies `credential`. An assertion whose `iss` is not the client itself is
    /// an external token when the client has federated credentials or is a managed identity.
    static func present(_ credential: ClientCredential, client: DirectoryCache.Client) -> Presented {
        let assertion: String
        switch credential {
        case .secret(let secret, _): return Presented(credential: .secret(secret), type: .clientSecret)
        case .assertion(let text): assertion = text
        }
        let jws: CompactJWS
        do {
            jws = try CompactJWS(parsing: assertion)
        } catch {
            return Presented(credential: .malformed(.malformedAssertion(error.reason)), type: nil)
        }
        let issuer = jws.claims["iss"]?.stringValue
        var presented: Presented
        if issuer != client.app.appId, !client.federatedCredentials.isEmpty || client.app.kind.isManagedIdentity {
            presented = Presented(
                credential: .assertion(jws), type: .federatedIdentityCredential,
                secretless: SecretlessSignIn(
                    federatedIssuer: issuer.map { String($0.prefix(600)) }, federatedSubject: jws.claims["sub"]?.stringValue.map { String($0.prefix(600)) }),
                federated: true)
        } else {
            presented = Presented(credential: .assertion(jws), type: client.app.kind.isManagedIdentity ? .managedIdentity : nil)
        }
        do {
            _ = try jws.algorithm()
        } catch {
            presented = Presented(credential: .malformed(.malformedAssertion(error.reason)), type: presented.type, secretless: presented.secretless)
        }
        // RFC 7515 §4.1.11: extensions a recipient does not understand must be refused.
        if jws.header["crit"] != nil {
            presented = Presented(
                credential: .malformed(.malformedAssertion("the 'crit' header names extensions Sigil does not support")), type: presented.type,
                secretless: presented.secretless)
        }
        return presented
    }

    func authenticate(_ client: DirectoryCache.Client, _ presented: Presented) async throws(OAuthError) -> Proof {
        let jws: CompactJWS
        switch presented.credential {
        case .secret(let secret): return try SecretAuthenticator(now: now).authenticate(secret, client: client)
        case .malformed(let error): throw error
        case .assertion(let parsed): jws = parsed
        }
        if presented.federated {
            return try await federation.authenticate(
                jws, issuer: jws.claims["iss"]?.stringValue ?? "", client: client, tenantId: tenantId, generation: generation, now: now)
        }
        if client.app.kind.isManagedIdentity {
            return try ManagedIdentityAuthenticator(directory: directory, audiences: audiences, now: now).authenticate(jws, client: client)
        }
        let (credential, accepted) = try RegisteredKeyCheck(directory: directory, audiences: audiences, now: now)
            .verify(jws, registered: client.keys, clientId: client.app.appId)
        return Proof(
            type: credential.kind == .certificate ? .certificate : .clientAssertion,
            credentialId: credential.thumbprintHex ?? credential.kid, assertionId: accepted.assertionId, addedAt: credential.startDateTime)
    }
}

/// `client_secret_basic` / `client_secret_post`: the secret against every one of the app's salted hashes.
struct SecretAuthenticator {
    let now: Date

    func authenticate(_ secret: String, client: DirectoryCache.Client) throws(OAuthError) -> ClientAuthenticator.Proof {
        let appId = client.app.appId
        if case .failure(let problem) = SigilSecretFormat.validate(secret) {
            throw .invalidSecret(appId, detail: "is not a Sigil client secret: \(problem)")
        }
        // Check every credential so the time taken does not say which one (if any) matched.
        var matched: PasswordCredential?
        for credential in client.passwords where credential.hash.matches(secret: secret) { matched = credential }
        guard let matched else { throw .invalidSecret(appId) }
        if let revokedAt = matched.revokedAt { throw .revokedSecret(appId, keyId: matched.keyId, revokedAt: revokedAt) }
        if let disabledAt = matched.disabledAt {
            throw .disabledCredential(appId, noun: "client secret", keyId: matched.keyId, disabledAt: disabledAt, code: 7000215)
        }
        guard now < matched.endDateTime else { throw .expiredSecret(appId, keyId: matched.keyId) }
        guard now >= matched.startDateTime else { throw .secretNotYetValid(appId, keyId: matched.keyId) }
        return .init(type: .clientSecret, credentialId: matched.keyId, assertionId: nil, addedAt: matched.startDateTime)
    }
}

/// An RFC 7523 assertion signed with a key Sigil holds the public half of (an app's key or
/// certificate, a host's key): the key the header names, its validity, the signature, then the
/// claims with their single-use `jti`.
struct RegisteredKeyCheck {
    let directory: DirectoryCache
    let audiences: [String]
    let now: Date

    struct Accepted {
        let claims: ClientAssertionRules.Accepted
        /// The id that makes the assertion single-use: the client and the SHA-256 of its jti.
        let assertionId: String
    }

    func verify(_ jws: CompactJWS, registered: [KeyCredential], clientId: String, notFound: String? = nil) throws(OAuthError) -> (KeyCredential, Accepted) {
        let credential: KeyCredential
        do {
            credential = try Self.select(from: registered, header: jws.header, clientId: clientId)
        } catch {
            throw notFound.map { OAuthError.assertionKeyNotFound($0) } ?? error
        }
        if let disabledAt = credential.disabledAt {
            throw .disabledCredential(clientId, noun: "key", keyId: credential.keyId, disabledAt: disabledAt, code: 700027)
        }
        if let end = credential.endDateTime, end < now {
            throw .badAssertionSignature("the registered key \(credential.keyId) expired on \(end.iso8601)")
        }
        guard credential.startDateTime <= now.addingTimeInterval(ClientAssertionRules.clockSkew) else {
            throw .badAssertionSignature("the registered key \(credential.keyId) is not valid before \(credential.startDateTime.iso8601)")
        }
        let key: VerificationKey
        do {
            key = try directory.verificationKey(credential)
        } catch {
            throw .serverError()
        }
        do {
            try jws.verify(with: key)
        } catch {
            throw .badAssertionSignature(error.reason)
        }
        let accepted = try ClientAssertionRules(clientId: clientId, audiences: audiences, now: now).check(jws.claims)
        return (credential, Accepted(claims: accepted, assertionId: clientId + ":" + Base64URL.encode(SHA256.hash(data: Data(accepted.jti.utf8)))))
    }

    /// Picks the registered key the header names by `x5t#S256`, `x5t`, `x5c` or `kid`. Headers
    /// that point elsewhere (`jku`, `x5u`, `jwk`) are never followed.
    static func select(from registered: [KeyCredential], header: [String: JSONValue], clientId: String) throws(OAuthError) -> KeyCredential {
        // msal pads its base64url thumbprints with '='; Entra accepts both forms, so does Sigil.
        let unpadded = { (value: String) in String(value.reversed().drop { $0 == "=" }.reversed()) }
        if let thumbprint = header["x5t#S256"]?.stringValue.map(unpadded) {
            if let match = registered.first(where: { $0.x5tS256 == thumbprint }) { return match }
            throw .assertionKeyNotFound("no certificate registered for app '\(clientId)' has x5t#S256 '\(OAuthError.quoted(thumbprint))'")
        }
        if let thumbprint = header["x5t"]?.stringValue.map(unpadded) {
            if let match = registered.first(where: { $0.x5t == thumbprint }) { return match }
            throw .assertionKeyNotFound("no certificate registered for app '\(clientId)' has x5t '\(OAuthError.quoted(thumbprint))'")
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
            throw .assertionKeyNotFound("no key registered for app '\(clientId)' has kid '\(OAuthError.quoted(kid))'")
        }
        throw .assertionKeyNotFound("the assertion header names no key; send x5t#S256, x5t or kid")
    }
}
