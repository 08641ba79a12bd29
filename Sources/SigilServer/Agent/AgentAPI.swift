import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// What the host agent calls, under `/agent/v1` (no tenant in the path: the join token or the
/// host's key says which host, and so which tenant):
///
/// - `POST enroll` trades a one-time join token for the registration of the host's public key;
/// - `GET config` tells the agent its identities and mapping rules;
/// - `POST keys` replaces the host's key (the old one keeps working for a grace period).
///
/// After enrollment the agent authenticates with `Authorization: SigilHost JWT`: an assertion
/// signed with the host's key, `iss` and `sub` its system identity's appId, `aud` this API.
/// Errors have the admin API's shape.
struct AgentAPI {
    static let scheme = "SigilHost"

    let store: Store
    let directory: DirectoryCache
    let urls: ServerURLs

    var audience: String { urls.baseURL + "/agent/v1" }

    func register(on router: Router<SigilRequestContext>) {
        let group = router.group("agent/v1")
        group.post("enroll") { request, context in await answer(request) { try await enroll(request, context) } }
        group.get("config") { request, context in
            await answer(request) {
                let (host, identity, _, _) = try await authenticate(request)
                return .json(try await configuration(host, systemIdentity: identity))
            }
        }
        group.post("keys") { request, context in await answer(request) { try await rotate(request, context) } }
    }

    /// Runs a handler, turning every failure into the admin API's error shape.
    private func answer(_ request: Request, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            var response = AdminError(error).response(requestId: TokenEndpoint.correlationId(request))
            if response.status == .unauthorized { response.headers[.wwwAuthenticate] = Self.scheme }
            return response
        }
    }

    private func enroll(_ request: Request, _ context: SigilRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, allowed: ["joinToken", "publicKey", "hostname"])
        let token = try body.requiredString("joinToken")
        switch SigilSecretFormat.validate(token) {
        case .success(.joinToken): break
        case .success: throw AdminError.badRequest("joinToken is a client secret, not a join token (sgj_…).", target: "joinToken")
        case .failure(let problem): throw AdminError.badRequest("joinToken is not a Sigil join token: \(problem).", target: "joinToken")
        }
        let (key, kid) = try Self.publicKey(body)
        let hostname = try body.string("hostname").map { String($0.prefix(255)) }
        if let hostname, hostname.containsControlCharacters { throw AdminError.badRequest("hostname must not contain control characters.", target: "hostname") }
        let now = Date()
        let host: EnrolledHost
        do {
            host = try await store.enrollHost(
                joinTokenDigest: AdminAPI.joinTokenDigest(token),
                key: { host in Self.keyCredential(key, kid: kid, identityId: host.systemIdentityId, now: now) },
                reportedHostname: hostname, now: now,
                audit: { host in
                    AuditEvent(
                        time: now, tenantId: host.tenantId, actorId: host.systemIdentityId, actorName: ManagedIdentityRules.systemIdentityName(host: host.name),
                        action: "host.enroll", targetType: "host", targetId: host.id, after: ["kid": .string(kid), "hostname": .optional(hostname)],
                        ipAddress: context.clientAddress, correlationId: TokenEndpoint.correlationId(request))
                })
        } catch let error as EnrollmentError {
            switch error {
            case .unknownToken: throw AdminError.unauthorized("The join token is not known here; create a host with `sigil host create` and use its token.")
            case .alreadyUsed(let at): throw AdminError.unauthorized("The join token was already used (on \(at.iso8601)); a join token works once. Create a new host, or remove and re-create this one.")
            case .expired(let at): throw AdminError.unauthorized("The join token expired on \(at.iso8601); create the host again for a new token.")
            }
        }
        guard let identity = try await store.systemIdentity(of: host) else { throw StoreError.unavailable("the host's identity vanished") }
        return .json([
            "hostId": .string(host.id), "hostName": .string(host.name), "tenantId": .string(host.tenantId),
            "authority": .string(urls.authority(tenantId: host.tenantId)), "tokenEndpoint": .string(urls.tokenEndpoint(tenantId: host.tenantId)),
            "systemAssignedIdentity": Self.assigned(identity).json, "kid": .string(kid),
        ], status: .created)
    }

    private func rotate(_ request: Request, _ context: SigilRequestContext) async throws -> Response {
        let (host, identity, claims, signedWith) = try await authenticate(request)
        // A key already replaced only finishes the requests signed before the rotation: it may
        // not register another, or a copy taken before the daily rotation could take the host over.
        guard signedWith.endDateTime == nil else {
            throw AdminError.unauthorized("The host assertion is signed with a key that was already replaced; sign with the current key.")
        }
        let body = try await JSONBody.read(request, allowed: ["publicKey"])
        let (key, kid) = try Self.publicKey(body)
        guard claims["jkt"]?.stringValue == key.thumbprint else {
            throw AdminError.badRequest("The assertion's 'jkt' claim must be the new key's RFC 7638 thumbprint, so the request cannot be replayed with another key.", target: "publicKey")
        }
        let now = Date()
        try await store.rotateHostKey(
            Self.keyCredential(key, kid: kid, identityId: identity.objectId, now: now), now: now, grace: ManagedIdentityRules.replacedKeyGrace,
            audit: AuditEvent(
                time: now, tenantId: host.tenantId, actorId: identity.servicePrincipalId, actorName: identity.displayName, action: "host.key.rotate",
                targetType: "host", targetId: host.id, after: ["kid": .string(kid)], ipAddress: context.clientAddress,
                correlationId: TokenEndpoint.correlationId(request)))
        return .json(["kid": .string(kid), "previousKeyValidUntil": .date(now.addingTimeInterval(ManagedIdentityRules.replacedKeyGrace))], status: .created)
    }

    /// The host's configuration, in the form the agent reads (`HostConfiguration`).
    private func configuration(_ host: EnrolledHost, systemIdentity: AppRegistration) async throws -> JSONValue {
        HostConfiguration(
            hostId: host.id, hostName: host.name, tenantId: host.tenantId, tokenEndpoint: urls.tokenEndpoint(tenantId: host.tenantId),
            systemAssignedIdentity: Self.assigned(systemIdentity), userAssignedIdentities: try await store.assignedIdentities(hostId: host.id).map(Self.assigned),
            rules: try await store.hostRules(hostId: host.id), keyRotationSeconds: Int(ManagedIdentityRules.keyRotationInterval)
        ).json
    }

    static func assigned(_ identity: AppRegistration) -> AssignedIdentity {
        AssignedIdentity(
            appId: identity.appId, objectId: identity.servicePrincipalId, displayName: identity.displayName,
            resourceId: ManagedIdentityRules.resourceId(tenantId: identity.tenantId, identity: identity))
    }

    // MARK: Authentication

    /// Checks `Authorization: SigilHost JWT` against the host keys of the system identity it
    /// names; returns the host, its identity, the assertion's claims and the key that signed it.
    private func authenticate(_ request: Request) async throws -> (EnrolledHost, AppRegistration, [String: JSONValue], KeyCredential) {
        guard let header = request.headers[.authorization] else {
            throw AdminError.unauthorized("The request has no '\(Self.scheme) JWT' authorization; the agent signs one with the host's key.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == Self.scheme else { throw AdminError.unauthorized("The Authorization header must be '\(Self.scheme) JWT'.") }
        let jws: CompactJWS
        do {
            jws = try CompactJWS(parsing: String(parts[1]))
            _ = try jws.algorithm()
        } catch {
            throw AdminError.unauthorized("The host assertion is malformed: \(error.reason).")
        }
        guard let appId = jws.claims["iss"]?.stringValue, let identity = try await store.principal(appId: appId),
            identity.kind == .systemAssignedIdentity, let hostId = identity.hostId, let host = try await store.host(id: hostId)
        else {
            throw AdminError.unauthorized("The host assertion names no enrolled host; the host may have been removed.")
        }
        let keys = try await store.keyCredentials(applicationId: identity.objectId)
        let key: KeyCredential
        do throws(OAuthError) {
            (key, _) = try RegisteredKeyCheck(directory: directory, audiences: [audience], now: Date()).verify(jws, registered: keys, clientId: appId)
        } catch {
            throw AdminError.unauthorized("The host assertion is not valid: \(error.message)")
        }
        return (host, identity, jws.claims, key)
    }

    // MARK: Keys

    /// The agent's public P-256 key; its kid is always the RFC 7638 thumbprint.
    static func publicKey(_ body: JSONBody) throws -> (VerificationKey, String) {
        guard let jwk = body.members["publicKey"]?.objectValue else {
            throw AdminError.badRequest("'publicKey' is required: the host's P-256 public key as a JWK.", target: "publicKey")
        }
        let key: VerificationKey
        do {
            key = try VerificationKey(jwk: jwk.filter { $0.key != "kid" && $0.key != "alg" && $0.key != "use" })
        } catch {
            throw AdminError.badRequest("'publicKey' is not usable: \(error.reason).", target: "publicKey")
        }
        guard case .p256 = key else { throw AdminError.badRequest("'publicKey' must be an EC P-256 key.", target: "publicKey") }
        return (key, key.thumbprint)
    }

    static func keyCredential(_ key: VerificationKey, kid: String, identityId: String, now: Date) -> KeyCredential {
        .jwk(key, kid: kid, keyId: AdminAPI.newId(), applicationId: identityId, displayName: "agent key", now: now)
    }
}
