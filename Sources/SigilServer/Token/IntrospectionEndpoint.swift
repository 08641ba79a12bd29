import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SigilCore
import SigilStore

/// `POST /{tenant}/oauth2/v2.0/introspect` (RFC 7662): a resource server asks whether a token
/// presented to it is still good. The caller authenticates as a client, exactly as at the token
/// endpoint (a secret, a registered key or certificate, a federated credential, a managed
/// identity), and may introspect only the tokens issued for it (`aud` is its appId): any other
/// token, and every expired, forged, foreign, disabled or revoked one, is `{"active": false}`.
/// The client authentication is a sign-in (resource `introspection`), so a key-signed
/// assertion is single-use here too.
struct IntrospectionEndpoint {
    static let resourceName = "introspection"

    let directory: DirectoryCache
    let recorder: SignInRecorder
    let federation: FederatedAuthenticator
    let verifier: AccessTokenVerifier
    let urls: ServerURLs
    let logger: Logger

    func handle(_ request: Request, context: SigilRequestContext) async -> Response {
        let correlationId = TokenEndpoint.correlationId(request)
        let now = Date()
        let tenant: Tenant
        do {
            guard let found = try await directory.tenant(id: context.parameters.get("tenant") ?? "") else {
                return TokenEndpoint.errorResponse(.tenantNotFound(context.parameters.get("tenant") ?? ""), correlationId: correlationId, now: now)
            }
            tenant = found
        } catch {
            logger.error("introspection: store unavailable: \(error)")
            return TokenEndpoint.errorResponse(.serverError(), correlationId: correlationId, now: now)
        }
        var client: AppRegistration?
        var clientId = ""
        var proof: ClientAuthenticator.Proof?
        var presentedType: CredentialType?
        let result: Result<(token: String, caller: AppRegistration), OAuthError>
        do throws(OAuthError) {
            let form = try await TokenEndpoint.form(request)
            clientId = form["client_id"] ?? ""
            let authentication = try ClientAuthentication.read(form: form, authorization: request.headers[.authorization])
            clientId = authentication.clientId
            guard let token = form["token"], !token.isEmpty else { throw .missingParameter("token") }
            let generation = try await TokenEndpoint.lookup(logger: logger) { try await directory.currentGeneration() }
            guard let found = try await TokenEndpoint.lookup(logger: logger, { try await directory.client(tenantId: tenant.id, appId: clientId, generation: generation) })
            else { throw .unknownClient(clientId) }
            client = found.app
            guard found.app.enabled else { throw .disabledClient(clientId) }
            let authenticator = ClientAuthenticator(
                directory: directory, tenantId: tenant.id, generation: generation,
                audiences: urls.tokenAudiences(tenantId: tenant.id) + [urls.introspectionEndpoint(tenantId: tenant.id)], federation: federation, now: now)
            let presented = ClientAuthenticator.present(authentication.credential, client: found)
            presentedType = presented.type
            proof = try await authenticator.authenticate(found, presented)
            result = .success((token, found.app))
        } catch {
            result = .failure(error)
        }

        let event = SignInEvent(
            id: RandomIdentifier.timeOrderedUUID(at: now), time: now, tenantId: tenant.id, appId: ClientInput.redacted(clientId),
            appDisplayName: client?.displayName, servicePrincipalId: client?.servicePrincipalId, credentialType: proof?.type ?? presentedType,
            credentialId: proof?.credentialId, ipAddress: context.clientAddress, userAgent: request.headers[.userAgent].map { String($0.prefix(512)) },
            resource: Self.resourceName, resourceId: nil, succeeded: (try? result.get()) != nil, errorCode: result.failure?.code,
            failureReason: result.failure.map { String($0.message.prefix(1024)) }, correlationId: correlationId,
            secretless: proof?.secretless ?? SecretlessSignIn())
        var record = SignInRecord(event: event)
        if case .success = result, let assertionId = proof?.assertionId {
            record.assertionId = assertionId
            var replay = event
            (replay.succeeded, replay.errorCode, replay.failureReason) = (false, OAuthError.assertionReplayed().code, OAuthError.assertionReplayed().message)
            record.eventIfReplayed = replay
        }
        do {
            if try await recorder.record(record) {
                return TokenEndpoint.errorResponse(.assertionReplayed(), correlationId: correlationId, now: now)
            }
        } catch {
            logger.error("introspection: cannot record the sign-in: \(error)")
            return TokenEndpoint.errorResponse(.serverError(), correlationId: correlationId, now: now)
        }
        switch result {
        case .failure(let error):
            return TokenEndpoint.errorResponse(error, correlationId: correlationId, now: now)
        case .success(let (token, caller)):
            return .json(await introspect(token, tenant: tenant, caller: caller), headers: [.cacheControl: "no-store"])
        }
    }

    /// RFC 7662 §2.2: the token's claims when it is active and issued for the caller, else only `active: false`.
    func introspect(_ token: String, tenant: Tenant, caller: AppRegistration) async -> JSONValue {
        let verified: AccessTokenVerifier.Verified
        do {
            verified = try await verifier.check(token, otherAudience: "") { found in found.id == tenant.id ? caller.appId : nil }
        } catch {
            return ["active": false]
        }
        var answer: [String: JSONValue] = ["active": true, "token_type": "Bearer", "client_id": verified.claims["appid"] ?? .null]
        for name in ["sub", "aud", "iss", "exp", "iat", "nbf", "jti", "oid", "tid", "appid", "azp", "roles", "idtyp", "cred_type"] {
            if let value = verified.claims[name] { answer[name] = value }
        }
        if case .array(let roles)? = verified.claims["roles"] {
            answer["scope"] = .string(roles.compactMap(\.stringValue).joined(separator: " "))
        }
        return .object(answer)
    }
}
