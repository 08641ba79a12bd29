import Foundation

/// An RFC 6749 §5.2 error with Entra's AADSTS number, as the token endpoint returns it.
/// The description says exactly what to fix and never contains a secret.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// RFC 6749 error code (`invalid_request`, `invalid_client`, …).
    public let error: String
    /// Entra's AADSTS number; the same condition gets the same number Entra uses.
    public let code: Int
    public let message: String
    public let status: Int

    public init(error: String, code: Int, message: String, status: Int = 400) {
        self.error = error
        self.code = code
        self.message = message
        self.status = status
    }

    /// "AADSTS7000215: Invalid client secret provided. …"
    public var description: String { "AADSTS\(code): \(message)" }

    /// Client input as it may appear in a message: redacted (`ClientInput`), then at most 128
    /// characters.
    public static func quoted(_ value: String) -> String {
        let value = ClientInput.redacted(value)
        return value.count <= 128 ? value : String(value.prefix(128)) + "…"
    }

    // The catalogue. Numbers are Entra's where Entra has one for the same condition. Every
    // value a client sent goes through `quoted`, so a message is bounded whatever the input.

    public static func missingParameter(_ name: String) -> OAuthError {
        OAuthError(error: "invalid_request", code: 900144, message: "The request body must contain the following parameter: '\(quoted(name))'.")
    }
    public static func duplicateParameter(_ name: String) -> OAuthError {
        OAuthError(error: "invalid_request", code: 90015, message: "The parameter '\(quoted(name))' is given more than once; send each parameter once.")
    }
    public static func malformedRequest(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_request", code: 90014, message: detail)
    }
    public static func wrongContentType(_ given: String?) -> OAuthError {
        OAuthError(
            error: "invalid_request", code: 900144,
            message: "The token endpoint takes an application/x-www-form-urlencoded body; this request sent '\(quoted(given ?? "no content type"))'."
        )
    }
    public static func bodyTooLarge(limit: Int) -> OAuthError {
        OAuthError(error: "invalid_request", code: 90014, message: "The request body is larger than \(limit) bytes.", status: 413)
    }
    public static func unsupportedGrantType(_ grant: String) -> OAuthError {
        OAuthError(
            error: "unsupported_grant_type", code: 70003,
            message: "The app requested an unsupported grant type '\(quoted(grant))'; this endpoint supports client_credentials."
        )
    }
    public static func tenantNotFound(_ tenant: String) -> OAuthError {
        OAuthError(error: "invalid_request", code: 90002, message: "Tenant '\(quoted(tenant))' not found. Check the tenant id in the authority URL.", status: 400)
    }
    public static func unknownClient(_ clientId: String) -> OAuthError {
        OAuthError(
            error: "unauthorized_client", code: 700016,
            message: "Application with identifier '\(quoted(clientId))' was not found in the directory. Check the client_id."
        )
    }
    public static func disabledClient(_ clientId: String) -> OAuthError {
        OAuthError(
            error: "unauthorized_client", code: 7000112,
            message: "Application '\(quoted(clientId))' is disabled. An administrator disabled it (sigil app enable lets it sign in again) or contained it in an incident (sigil incident show, then sigil incident release)."
        )
    }
    public static func noCredential() -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 7000218,
            message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", status: 401
        )
    }
    public static func severalClientAuthentications(_ methods: [String]) -> OAuthError {
        OAuthError(
            error: "invalid_request", code: 90015,
            message: "The client authenticated in more than one way (\(methods.joined(separator: ", "))); use exactly one.",
        )
    }
    public static func clientIdMismatch() -> OAuthError {
        OAuthError(error: "invalid_request", code: 90015, message: "The client_id in the body differs from the one in the Authorization header.")
    }
    public static func invalidSecret(_ clientId: String, detail: String? = nil) -> OAuthError {
        var message = "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(quoted(clientId))'."
        if let detail { message += " The secret \(detail)." }
        return OAuthError(error: "invalid_client", code: 7000215, message: message, status: 401)
    }
    public static func expiredSecret(_ clientId: String, keyId: String) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 7000222,
            message: "The provided client secret keys for app '\(quoted(clientId))' are expired (key id \(keyId)). Create a new secret, or better, a certificate or federated credential.",
            status: 401
        )
    }
    /// A secret that matches but was revoked because it was reported leaked: Entra's number for a
    /// bad secret, with a message that tells the owner what happened and what to do.
    public static func revokedSecret(_ clientId: String, keyId: String, revokedAt: Date) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 7000215,
            message: "Invalid client secret provided. The client secret \(keyId) of app '\(quoted(clientId))' was revoked on \(revokedAt.formatted(.iso8601)) because it was reported leaked. Add a new credential to the app (better a certificate or federated credential than another secret) and use it instead.",
            status: 401
        )
    }
    /// A credential that matches but is disabled (`sigil migrate finish`, `sigil incident contain`):
    /// Entra's number for a bad secret or key, with what to do.
    public static func disabledCredential(_ clientId: String, noun: String, keyId: String, disabledAt: Date, code: Int) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: code,
            message: "The \(noun) \(keyId) of app '\(quoted(clientId))' was disabled on \(disabledAt.formatted(.iso8601)). Use the credential that replaces it, or ask an administrator to enable it again (sigil migrate rollback, sigil incident release).",
            status: 401
        )
    }
    public static func secretNotYetValid(_ clientId: String, keyId: String) -> OAuthError {
        OAuthError(error: "invalid_client", code: 7000215, message: "The client secret \(keyId) of app '\(quoted(clientId))' is not valid yet.", status: 401)
    }
    public static func malformedAuthorizationHeader(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_client", code: 7000215, message: "The Authorization header is not valid HTTP Basic client authentication: \(detail).", status: 401)
    }
    public static func wrongAssertionType(_ given: String) -> OAuthError {
        OAuthError(
            error: "invalid_request", code: 700025,
            message: "client_assertion_type '\(quoted(given))' is not supported; use urn:ietf:params:oauth:client-assertion-type:jwt-bearer."
        )
    }
    public static func malformedAssertion(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_client", code: 50027, message: "The client assertion is invalid or malformed: \(detail).", status: 401)
    }
    public static func assertionKeyNotFound(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_client", code: 700027, message: "Client assertion failed signature validation: \(detail).", status: 401)
    }
    public static func badAssertionSignature(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_client", code: 700027, message: "Client assertion failed signature validation: \(detail).", status: 401)
    }
    public static func assertionTime(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_client", code: 700024, message: "Client assertion is not within its valid time range: \(detail).", status: 401)
    }
    public static func assertionClaim(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_client", code: 700021, message: "Client assertion claims are invalid: \(detail).", status: 401)
    }
    // Federated identity credentials: which of issuer, subject or audience did not match, with
    // the values the token presented (never the configured ones, so a stranger learns nothing).
    public static func federatedIssuerMismatch(_ issuer: String, clientId: String) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 700211,
            message: "No matching federated identity record found for presented assertion issuer '\(quoted(issuer))': no federated credential of '\(quoted(clientId))' trusts that issuer. Add one with `sigil app federated add`.",
            status: 401)
    }
    public static func federatedSubjectMismatch(_ subject: String) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 700213,
            message: "No matching federated identity record found for presented assertion subject \(subject). Subjects are compared exactly, case included.",
            status: 401)
    }
    public static func noMatchingFederatedCredential(_ subject: String) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 70021,
            message: "No matching federated identity record found for presented assertion: its subject \(subject) matches no credential's subject, and its claims match no credential's claimsMatchingExpression.",
            status: 401)
    }
    public static func sigilTokenNotACredential(_ credentialType: String) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 70021,
            message: "No matching federated identity record found for presented assertion: it is a Sigil access token issued with credential type '\(quoted(credentialType))'. Only a managed identity's Sigil token may be presented as a federated credential.",
            status: 401)
    }
    public static func federatedAudienceMismatch(_ audience: String) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 700212,
            message: "No matching federated identity record found for presented assertion audience \(audience); the credential whose subject matched expects another audience.",
            status: 401)
    }
    public static func issuerUnavailable(_ issuer: String, detail: String) -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 700027,
            message: "Client assertion failed signature validation: the signing keys of issuer '\(quoted(issuer))' could not be obtained: \(detail).",
            status: 401)
    }
    public static func assertionReplayed() -> OAuthError {
        OAuthError(
            error: "invalid_client", code: 700023,
            message: "The client assertion was already used (its jti has been seen); sign a new assertion for every request.", status: 401
        )
    }
    public static func invalidScope(_ detail: String) -> OAuthError {
        OAuthError(error: "invalid_scope", code: 1002012, message: detail)
    }
    public static func unknownResource(_ resource: String) -> OAuthError {
        OAuthError(
            error: "invalid_resource", code: 500011,
            message: "The resource principal named \(quoted(resource)) was not found in the tenant. Check the App ID URI or appId in the scope."
        )
    }
    public static func disabledResource(_ resource: String) -> OAuthError {
        OAuthError(error: "invalid_resource", code: 7000112, message: "The resource application \(quoted(resource)) is disabled.")
    }
    public static func roleRequired(client: String, resource: String) -> OAuthError {
        OAuthError(
            error: "invalid_grant", code: 501051,
            message: "Application '\(client)' is not assigned to a role for the application '\(quoted(resource))', which requires one. Grant it a role with `sigil app grant`."
        )
    }
    /// Entra's number for a request a Conditional Access policy blocked.
    public static let conditionalAccessCode = 53003
    /// A Conditional Access policy blocks the request (Entra's number and wording, HTTP 400).
    public static func blockedByConditionalAccess(policy: String, policyId: String) -> OAuthError {
        OAuthError(
            error: "access_denied", code: conditionalAccessCode,
            message: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance. Blocking policy: '\(policy)' (\(policyId)).")
    }
    public static func serverError() -> OAuthError {
        OAuthError(error: "server_error", code: 90033, message: "A transient error occurred; try again.", status: 503)
    }
}
