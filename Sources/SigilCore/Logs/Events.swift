import Foundation

/// One token request, successful or not (DESIGN §8).
public struct SignInEvent: Sendable, Equatable {
    public var id: String
    public var time: Date
    public var tenantId: String
    /// The client id the request named (also for unknown clients, so probing is visible).
    public var appId: String
    public var appDisplayName: String?
    public var servicePrincipalId: String?
    public var credentialType: CredentialType?
    /// The password credential's keyId, the certificate thumbprint or the key's kid.
    public var credentialId: String?
    public var ipAddress: String
    public var userAgent: String?
    public var resource: String?
    public var resourceId: String?
    public var succeeded: Bool
    public var errorCode: Int?
    public var failureReason: String?
    public var conditionalAccessStatus: String
    public var riskLevel: String
    public var correlationId: String
    /// What a secretless credential adds: the external token's issuer and subject, the host, the calling process.
    public var secretless: SecretlessSignIn
    /// Each Conditional Access policy's result; nil when no policy was evaluated.
    public var policyResults: SignInPolicyResults?

    public init(
        id: String, time: Date, tenantId: String, appId: String, appDisplayName: String?, servicePrincipalId: String?,
        credentialType: CredentialType?, credentialId: String?, ipAddress: String, userAgent: String?, resource: String?,
        resourceId: String?, succeeded: Bool, errorCode: Int?, failureReason: String?, conditionalAccessStatus: String = "notApplied",
        riskLevel: String = "none", correlationId: String, secretless: SecretlessSignIn = SecretlessSignIn(),
        policyResults: SignInPolicyResults? = nil
    ) {
        self.id = id
        self.time = time
        self.tenantId = tenantId
        self.appId = appId
        self.appDisplayName = appDisplayName
        self.servicePrincipalId = servicePrincipalId
        self.credentialType = credentialType
        self.credentialId = credentialId
        self.ipAddress = ipAddress
        self.userAgent = userAgent
        self.resource = resource
        self.resourceId = resourceId
        self.succeeded = succeeded
        self.errorCode = errorCode
        self.failureReason = failureReason
        self.conditionalAccessStatus = conditionalAccessStatus
        self.riskLevel = riskLevel
        self.correlationId = correlationId
        self.secretless = secretless
        self.policyResults = policyResults
    }
}

/// The sign-in details of a federated credential or a managed identity (DESIGN §8).
public struct SecretlessSignIn: Sendable, Equatable {
    /// The external token's `iss` and `sub` (federated credentials).
    public var federatedIssuer: String?
    public var federatedSubject: String?
    /// The host whose agent vouched for a managed identity.
    public var hostId: String?
    /// The process that asked the agent's Unix socket: its uid and executable.
    public var callerUid: Int64?
    public var callerExecutable: String?

    public init(
        federatedIssuer: String? = nil, federatedSubject: String? = nil, hostId: String? = nil, callerUid: Int64? = nil,
        callerExecutable: String? = nil
    ) {
        self.federatedIssuer = federatedIssuer
        self.federatedSubject = federatedSubject
        self.hostId = hostId
        self.callerUid = callerUid
        self.callerExecutable = callerExecutable
    }
}

/// What a token request leaves behind: its sign-in and, for a single-use client assertion, the
/// use of its id, recorded together so a replay and its refusal are one decision.
public struct SignInRecord: Sendable {
    public var event: SignInEvent
    /// The id of the single-use assertion the request presented, scoped to the client.
    public var assertionId: String?
    /// The sign-in to record instead when the assertion turns out to be a replay.
    public var eventIfReplayed: SignInEvent?

    public init(event: SignInEvent, assertionId: String? = nil, eventIfReplayed: SignInEvent? = nil) {
        self.event = event
        self.assertionId = assertionId
        self.eventIfReplayed = eventIfReplayed
    }
}

/// One admin change (DESIGN §8). `before` / `after` describe the object, never a secret value.
public struct AuditEvent: Sendable, Equatable {
    public var id: String
    public var time: Date
    public var tenantId: String
    public var actorId: String
    public var actorName: String
    /// `application.create`, `application.passwordCredential.add`, …
    public var action: String
    public var targetType: String
    public var targetId: String
    public var before: JSONValue?
    public var after: JSONValue?
    public var ipAddress: String
    public var succeeded: Bool
    public var correlationId: String

    public init(
        id: String = RandomIdentifier.uuid(), time: Date, tenantId: String, actorId: String, actorName: String,
        action: String, targetType: String, targetId: String, before: JSONValue? = nil, after: JSONValue? = nil,
        ipAddress: String, succeeded: Bool = true, correlationId: String
    ) {
        self.id = id
        self.time = time
        self.tenantId = tenantId
        self.actorId = actorId
        self.actorName = actorName
        self.action = action
        self.targetType = targetType
        self.targetId = targetId
        self.before = before
        self.after = after
        self.ipAddress = ipAddress
        self.succeeded = succeeded
        self.correlationId = correlationId
    }
}

/// Filters for the sign-in and audit logs.
public struct LogQuery: Sendable, Equatable {
    public var appId: String?
    /// `true` = successes only, `false` = failures only.
    public var succeeded: Bool?
    public var since: Date?
    public var until: Date?
    /// Sign-ins only: this credential type.
    public var credentialType: CredentialType?
    /// Audit events only: the actor's id or display name.
    public var actor: String?
    /// Audit events only: this action.
    public var action: String?
    public var limit: Int
    /// How many of the newest matches to skip (the dashboard's pages).
    public var offset = 0

    public init(appId: String? = nil, succeeded: Bool? = nil, since: Date? = nil, until: Date? = nil, limit: Int = 100) {
        self.appId = appId
        self.succeeded = succeeded
        self.since = since
        self.until = until
        self.limit = limit
    }
}
