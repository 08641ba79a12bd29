import Foundation

/// How a client proved who it is.
public enum ClientCredential: Sendable, Equatable {
    /// `client_secret_basic` or `client_secret_post`.
    case secret(String, viaHeader: Bool)
    /// `private_key_jwt` (RFC 7523), or an external token under a federated credential.
    case assertion(String)
}

/// A `grant_type=client_credentials` request, checked for shape before any lookup: one client
/// authentication method, a client id, a single `RESOURCE/.default` scope.
public struct ClientCredentialsRequest: Sendable, Equatable {
    public static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// The client id; for an assertion without `client_id`, the assertion's (unverified) `sub`,
    /// used only to find the keys that then verify it.
    public let clientId: String
    public let credential: ClientCredential
    /// The resource named by the scope, without `/.default`.
    public let resource: String

    /// - Parameter authorization: the request's `Authorization` header, if any.
    public init(form: FormParameters, authorization: String?) throws(OAuthError) {
        guard let grant = form["grant_type"], !grant.isEmpty else { throw .missingParameter("grant_type") }
        guard grant == "client_credentials" else { throw .unsupportedGrantType(grant) }

        (clientId, credential) = try ClientAuthentication.read(form: form, authorization: authorization)
        guard let scope = form["scope"], !scope.isEmpty else { throw .missingParameter("scope") }
        resource = try Self.resource(fromScope: scope)
    }

    /// `RESOURCE/.default` → `RESOURCE`. The client credentials flow asks for all of one
    /// resource's granted roles at once, so exactly one `/.default` scope is accepted.
    public static func resource(fromScope scope: String) throws(OAuthError) -> String {
        let scopes = scope.split(separator: " ", omittingEmptySubsequences: true)
        guard scopes.count == 1 else {
            throw .invalidScope("The scope '\(OAuthError.quoted(scope))' names \(scopes.count) scopes; the client credentials flow takes exactly one, RESOURCE/.default.")
        }
        let single = String(scopes[0])
        guard single.hasSuffix("/.default"), single.count > "/.default".count else {
            throw .invalidScope("The provided value for the input parameter 'scope' is not valid. The scope '\(OAuthError.quoted(single))' must be RESOURCE/.default, for example api://my-api/.default.")
        }
        return String(single.dropLast("/.default".count))
    }
}

/// The client authentication of a request to the token or introspection endpoint: exactly one
/// of `client_secret_basic`, `client_secret_post` or a `client_assertion`, with the client id.
public enum ClientAuthentication {
    /// The client id and credential the form and `Authorization` header present; for an
    /// assertion without `client_id`, the assertion's (unverified) `sub`, used only to find the
    /// keys that then verify it.
    public static func read(form: FormParameters, authorization: String?) throws(OAuthError) -> (clientId: String, credential: ClientCredential) {
        var basic: (id: String, secret: String)?
        if let authorization {
            basic = try decodeBasic(authorization)
        }
        var methods: [String] = []
        if basic != nil { methods.append("client_secret_basic") }
        if form["client_secret"] != nil { methods.append("client_secret_post") }
        if form["client_assertion"] != nil { methods.append("client_assertion") }
        guard methods.count <= 1 else { throw .severalClientAuthentications(methods) }

        let clientId: String
        let credential: ClientCredential
        if let basic {
            if let bodyId = form["client_id"], bodyId != basic.id { throw .clientIdMismatch() }
            clientId = basic.id
            credential = .secret(basic.secret, viaHeader: true)
        } else if let secret = form["client_secret"] {
            guard let id = form["client_id"], !id.isEmpty else { throw .missingParameter("client_id") }
            clientId = id
            credential = .secret(secret, viaHeader: false)
        } else if let assertion = form["client_assertion"] {
            guard let type = form["client_assertion_type"] else { throw .missingParameter("client_assertion_type") }
            guard type == ClientCredentialsRequest.assertionType else { throw .wrongAssertionType(type) }
            if let id = form["client_id"], !id.isEmpty {
                clientId = id
            } else {
                guard let jws = try? CompactJWS(parsing: assertion), let sub = jws.claims["sub"]?.stringValue else {
                    throw .missingParameter("client_id")
                }
                clientId = sub
            }
            credential = .assertion(assertion)
        } else {
            guard form["client_id"] != nil else { throw .missingParameter("client_id") }
            throw .noCredential()
        }
        guard clientId.utf8.count <= 256 else { throw .malformedRequest("client_id is longer than 256 characters.") }
        return (clientId, credential)
    }

    static func decodeBasic(_ header: String) throws(OAuthError) -> (id: String, secret: String) {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic" else {
            throw .malformedAuthorizationHeader("the scheme must be Basic")
        }
        guard let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw .malformedAuthorizationHeader("the credentials are not base64")
        }
        let bytes = Array(decoded)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            throw .malformedAuthorizationHeader("the credentials have no ':' between client id and secret")
        }
        // RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
        guard let id = FormParameters.percentDecode(bytes[..<colon]), let secret = FormParameters.percentDecode(bytes[(colon + 1)...]) else {
            throw .malformedAuthorizationHeader("the client id or secret is not valid percent-encoded UTF-8")
        }
        guard !id.isEmpty else { throw .malformedAuthorizationHeader("the client id is empty") }
        return (id, secret)
    }
}
