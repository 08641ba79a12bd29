import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SigilCore
import SigilStore

/// `POST /{tenant}/oauth2/v2.0/token`: the client credentials grant with every client
/// authentication method of DESIGN §3. Every request that names a known tenant lands in the
/// sign-in log, whatever its outcome.
struct TokenEndpoint {
    let directory: DirectoryCache
    let recorder: SignInRecorder
    let unknownClients: UnknownClientFailures
    let federation: FederatedAuthenticator
    let risk: SignInRiskDetector
    let keys: SigningKeyRing
    let urls: ServerURLs
    /// The vault resource is also asked for as `https://VAULT_DOMAIN:PORT` (see `VaultAddressing`).
    let vaultDomain: String
    let metrics: ServerMetrics
    let logger: Logger

    /// What one request produced, for the response and the sign-in log.
    struct Outcome {
        var client: AppRegistration?
        var resource: AppRegistration?
        var credentialType: CredentialType?
        var credentialId: String?
        var assertionId: String?
        var secretless = SecretlessSignIn()
        var riskLevel = RiskLevel.none
        var conditionalAccessStatus = "notApplied"
        var policyResults: SignInPolicyResults?
        var credentialAddedAt: Date?
    }

    /// A response, with what `sigil_token_requests_total` counts of it: the credential type the
    /// client presented and the OAuth error it was refused with (nil: a token was issued).
    private typealias Answer = (response: Response, credentialType: CredentialType?, error: OAuthError?)

    func handle(_ request: Request, context: SigilRequestContext) async -> Response {
        let answer = await respond(request, context: context)
        metrics.countTokenRequest(credentialType: answer.credentialType, error: answer.error?.error)
        return answer.response
    }

    private func respond(_ request: Request, context: SigilRequestContext) async -> Answer {
        let tenantSegment = context.parameters.get("tenant") ?? ""
        let correlationId = Self.correlationId(request)
        let now = Date()
        var outcome = Outcome()
        func refuse(_ error: OAuthError) -> Answer {
            (Self.errorResponse(error, correlationId: correlationId, now: now), outcome.credentialType, error)
        }
        let tenant: Tenant
        do {
            guard let found = try await directory.tenant(id: tenantSegment) else { return refuse(.tenantNotFound(tenantSegment)) }
            tenant = found
        } catch {
            logger.error("token request: store unavailable: \(error)")
            return refuse(.serverError())
        }

        var clientId = ""
        var resourceName: String?
        let result: Result<String, OAuthError>
        do throws(OAuthError) {
            let form = try await Self.form(request)
            clientId = form["client_id"] ?? ""
            let grant = try ClientCredentialsRequest(form: form, authorization: request.headers[.authorization])
            clientId = grant.clientId
            resourceName = grant.resource
            result = .success(try await issue(grant, tenant: tenant, address: context.clientAddress, now: now, outcome: &outcome))
        } catch {
            result = .failure(error)
        }

        func event(_ result: Result<String, OAuthError>) -> SignInEvent {
            SignInEvent(
                id: RandomIdentifier.timeOrderedUUID(at: now), time: now, tenantId: tenant.id, appId: ClientInput.redacted(clientId),
                appDisplayName: outcome.client?.displayName, servicePrincipalId: outcome.client?.servicePrincipalId,
                credentialType: outcome.credentialType, credentialId: outcome.credentialId, ipAddress: context.clientAddress,
                userAgent: request.headers[.userAgent].map { String($0.prefix(512)) }, resource: resourceName.map(ClientInput.redacted),
                resourceId: outcome.resource?.appId, succeeded: (try? result.get()) != nil,
                errorCode: result.failure?.code, failureReason: result.failure.map { String($0.message.prefix(1024)) },
                conditionalAccessStatus: outcome.conditionalAccessStatus, riskLevel: outcome.riskLevel.rawValue, correlationId: correlationId,
                secretless: outcome.secretless, policyResults: outcome.policyResults)
        }
        if case .failure(let error) = result, outcome.client == nil,
            await !unknownClients.shouldRecord(tenantId: tenant.id, address: context.clientAddress, at: now)
        {
            // Sampled out: counted towards the summary row instead (the response is the same).
            return refuse(error)
        }
        var record = SignInRecord(event: event(result))
        if case .success = result, let assertionId = outcome.assertionId {
            record.assertionId = assertionId
            record.eventIfReplayed = event(.failure(.assertionReplayed()))
        }
        let replayed: Bool
        do {
            replayed = try await recorder.record(record)
        } catch {
            // A token whose sign-in cannot be recorded is not issued: the log must be complete.
            if case StoreError.unavailable = error {} else { logger.error("cannot record sign-in: \(error)") }
            return refuse(.serverError())
        }

        switch (result, replayed) {
        case (_, true):
            return refuse(.assertionReplayed())
        case (.success(let token), false):
            if let client = outcome.client, let type = outcome.credentialType {
                await risk.observe(ObservedSignIn(
                    tenantId: tenant.id, servicePrincipalId: client.servicePrincipalId, appId: client.appId, time: now,
                    ipAddress: context.clientAddress, credentialType: type.rawValue, credentialId: outcome.credentialId,
                    credentialAddedAt: outcome.credentialAddedAt, correlationId: correlationId))
            }
            let response = Response.json([
                "token_type": "Bearer", "expires_in": .integer(Int64(AccessToken.lifetime) - 1),
                "ext_expires_in": .integer(Int64(AccessToken.lifetime) - 1), "access_token": .string(token),
            ], headers: [HTTPField.Name("Pragma")!: "no-cache"])
            return (response, outcome.credentialType, nil)
        case (.failure(let error), false):
            return refuse(error)
        }
    }

    /// Authenticates the client, resolves the resource and its roles, evaluates Conditional
    /// Access for the client's address, and signs the token. The assertion's single use is
    /// settled when the sign-in is recorded.
    private func issue(
        _ grant: ClientCredentialsRequest, tenant: Tenant, address: String, now: Date, outcome: inout Outcome
    ) async throws(OAuthError) -> String {
        let generation = try await lookup { try await directory.currentGeneration() }
        let client = try await lookup { try await directory.client(tenantId: tenant.id, appId: grant.clientId, generation: generation) }
        guard let client else { throw .unknownClient(grant.clientId) }
        outcome.client = client.app
        guard client.app.enabled else { throw .disabledClient(grant.clientId) }

        let authenticator = ClientAuthenticator(
            directory: directory, tenantId: tenant.id, generation: generation, audiences: urls.tokenAudiences(tenantId: tenant.id),
            federation: federation, now: now)
        let presented = ClientAuthenticator.present(grant.credential, client: client)
        (outcome.credentialType, outcome.secretless) = (presented.type, presented.secretless)
        let proof = try await authenticator.authenticate(client, presented)
        outcome.credentialType = proof.type
        outcome.credentialId = proof.credentialId
        outcome.assertionId = proof.assertionId
        outcome.secretless = proof.secretless
        outcome.credentialAddedAt = proof.addedAt

        let identifier = VaultAddressing.canonicalResource(grant.resource, domain: vaultDomain)
        let resource = try await lookup { try await directory.resource(tenantId: tenant.id, identifier: identifier, generation: generation) }
        guard let resource else { throw .unknownResource(grant.resource) }
        outcome.resource = resource
        guard resource.enabled else { throw .disabledResource(grant.resource) }

        let roles = try await lookup {
            resource.identifierUris.contains(AdminAPI.identifierUri)
                ? try await directory.adminRoles(principal: client.app, generation: generation)
                : try await directory.grantedRoles(principalAppId: client.app.objectId, resourceAppId: resource.objectId, generation: generation)
        }
        if resource.appRoleAssignmentRequired, roles.isEmpty {
            throw .roleRequired(client: client.app.displayName, resource: resource.displayName)
        }
        try await evaluateConditionalAccess(client.app, tenantId: tenant.id, address: address, generation: generation, outcome: &outcome)
        let claims = AccessToken.claims(
            issuer: urls.issuer(tenantId: tenant.id), tenantId: tenant.id, client: client.app, resource: resource, roles: roles,
            credentialType: proof.type, now: now)
        do {
            let signer = try keys.signer(for: resource.accessTokenSigningAlgorithm)
            return try CompactJWS.sign(claims: claims, with: signer.key, kid: signer.kid)
        } catch {
            logger.error("cannot sign token: \(error)")
            throw .serverError()
        }
    }

    /// Every credential type, managed identities included: the policies see the service
    /// principal, the client's address and its current risk. A blocking policy refuses the
    /// request; report-only ones are only recorded.
    private func evaluateConditionalAccess(
        _ client: AppRegistration, tenantId: String, address: String, generation: Int64, outcome: inout Outcome
    ) async throws(OAuthError) {
        let access = try await lookup { try await directory.conditionalAccess(tenantId: tenantId, generation: generation) }
        outcome.riskLevel = access.risks[client.servicePrincipalId] ?? .none
        let verdicts = access.policies.evaluate(servicePrincipalId: client.servicePrincipalId, address: address, risk: outcome.riskLevel)
        outcome.policyResults = SignInPolicyResults(verdicts, snapshot: access.policies.snapshot)
        outcome.conditionalAccessStatus = ConditionalAccessPolicySet.status(verdicts)
        if let blocking = verdicts.first(where: { $0.result == .failure }) {
            let policy = access.policies.policies[blocking.policyIndex]
            throw .blockedByConditionalAccess(policy: policy.displayName, policyId: policy.id)
        }
    }

    private func lookup<T>(_ body: () async throws -> T) async throws(OAuthError) -> T {
        try await Self.lookup(logger: logger, body)
    }

    /// Runs a store read of the token path, turning a store failure into a retryable OAuth error.
    static func lookup<T>(logger: Logger, _ body: () async throws -> T) async throws(OAuthError) -> T {
        do {
            return try await body()
        } catch StoreError.unavailable {
            throw .serverError()  // the store's pool logged the outage when it began
        } catch {
            logger.error("token request: store failure: \(error)")
            throw .serverError()
        }
    }

    /// The request's `application/x-www-form-urlencoded` body, at most `maximumBodySize` bytes, decoded strictly.
    static func form(_ request: Request) async throws(OAuthError) -> FormParameters {
        guard request.mediaType == "application/x-www-form-urlencoded" else { throw .wrongContentType(request.headers[.contentType]) }
        let body: [UInt8]
        do {
            body = try await request.collectBody()
        } catch {
            throw .bodyTooLarge(limit: maximumBodySize)
        }
        return try FormParameters(decoding: body)
    }

    /// The client's `client-request-id` when it is a UUID (msal sends one), else a fresh one.
    static func correlationId(_ request: Request) -> String {
        if let given = request.headers[HTTPField.Name("client-request-id")!], let uuid = UUID(uuidString: given) {
            return uuid.uuidString.lowercased()
        }
        return RandomIdentifier.uuid()
    }

    /// The Entra error body: RFC 6749 fields plus `error_codes`, `timestamp`, `trace_id`, `correlation_id`.
    static func errorResponse(_ error: OAuthError, correlationId: String, now: Date) -> Response {
        let traceId = RandomIdentifier.uuid()
        let timestamp = now.iso8601
        var headers: HTTPFields = [HTTPField.Name("Pragma")!: "no-cache"]
        if error.status == 401 { headers[.wwwAuthenticate] = "Basic realm=\"sigil\"" }
        if error.status == 503 { headers.markRetryable() }
        return .json([
            "error": .string(error.error),
            "error_description": .string("\(error.description) Trace ID: \(traceId) Correlation ID: \(correlationId) Timestamp: \(timestamp)"),
            "error_codes": [.integer(Int64(error.code))],
            "timestamp": .string(timestamp),
            "trace_id": .string(traceId),
            "correlation_id": .string(correlationId),
        ], status: .init(code: error.status), headers: headers)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}
