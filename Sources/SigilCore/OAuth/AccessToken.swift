import Foundation

/// The credential type a sign-in used, as the sign-in log and the token's `cred_type` claim name it.
public enum CredentialType: String, Sendable, CaseIterable {
    case clientSecret
    case certificate
    case clientAssertion
    case federatedIdentityCredential
    case managedIdentity
}

/// The claims of an app-only access token (Entra v2.0 shape).
public enum AccessToken {
    public static let lifetime: TimeInterval = 3600

    /// - Parameters:
    ///   - issuer: `https://HOST/TENANT/v2.0`.
    ///   - roles: the values of the resource's roles granted to the client.
    public static func claims(
        issuer: String, tenantId: String, client: AppRegistration, resource: AppRegistration, roles: [String],
        credentialType: CredentialType, now: Date, jti: String = RandomIdentifier.uuid()
    ) -> [String: JSONValue] {
        let issuedAt = Int64(now.timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": .string(issuer),
            "aud": .string(resource.appId),
            "sub": .string(client.servicePrincipalId),
            "oid": .string(client.servicePrincipalId),
            "tid": .string(tenantId),
            "appid": .string(client.appId),
            "azp": .string(client.appId),
            // Entra's authentication-context class: 1 = secret, 2 = certificate or assertion.
            "azpacr": .string(credentialType == .clientSecret ? "1" : "2"),
            "idtyp": "app",
            "ver": "2.0",
            "iat": .integer(issuedAt),
            "nbf": .integer(issuedAt),
            "exp": .integer(issuedAt + Int64(lifetime)),
            "jti": .string(jti),
            "cred_type": .string(credentialType.rawValue),
        ]
        if !roles.isEmpty { claims["roles"] = .array(roles.sorted().map(JSONValue.string)) }
        return claims
    }
}
