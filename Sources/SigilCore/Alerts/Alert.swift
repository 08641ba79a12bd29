import Foundation

/// What an alert announces; the raw value is the payload's `type` and what `sigil alert add --kind` takes.
public enum AlertKind: String, Sendable, CaseIterable, Comparable {
    /// A risk detection was raised (a new network or user agent, an administrator's confirmation…), a leak report's excepted.
    case riskDetection
    /// A leak report revoked a client secret.
    case leakReport
    /// Failed or blocked sign-ins in one window reached a threshold, for one app or the whole tenant.
    case signInSpike
    /// A client secret or certificate expires within the subscription's lead time.
    case credentialExpiring
    /// A client secret was added to a tenant that had no current client secret.
    case secretAdded

    public static func < (lhs: AlertKind, rhs: AlertKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One alert as a webhook receives it: `{"id", "type", "time", "tenantId", "data"}`. `data` names
/// what happened (app, service principal, credential key id and hint), never a secret value.
public struct Alert: Sendable, Equatable {
    /// A UUID; receivers drop a redelivered alert by it.
    public var id: String
    public var kind: AlertKind
    public var time: Date
    public var tenantId: String
    public var data: [String: JSONValue]

    public init(id: String = RandomIdentifier.uuid(), kind: AlertKind, time: Date, tenantId: String, data: [String: JSONValue]) {
        self.id = id
        self.kind = kind
        self.time = time
        self.tenantId = tenantId
        self.data = data
    }

    /// The body a webhook receives, kept in the outbox as it is, so every attempt sends the same bytes.
    public var payload: JSONValue {
        [
            "id": .string(id), "type": .string(kind.rawValue), "time": .string(time.formatted(VaultEvent.timeFormat)),
            "tenantId": .string(tenantId), "data": .object(data),
        ]
    }

    /// A risk detection other than a leak report's.
    public static func riskDetection(_ detection: RiskDetection) -> Alert {
        Alert(
            kind: .riskDetection, time: detection.detectedAt, tenantId: detection.tenantId,
            data: [
                "detectionId": .string(detection.id), "riskEventType": .string(detection.riskEventType), "riskLevel": .string(detection.riskLevel.rawValue),
                "appId": .string(detection.appId), "servicePrincipalId": .string(detection.servicePrincipalId), "keyId": .optional(detection.keyId),
                "ipAddress": .optional(detection.ipAddress),
            ])
    }

    /// A leak report's detection: the secret it revoked, named by key id and hint.
    public static func leakReport(_ detection: RiskDetection, hint: String?) -> Alert {
        Alert(
            kind: .leakReport, time: detection.detectedAt, tenantId: detection.tenantId,
            data: [
                "detectionId": .string(detection.id), "appId": .string(detection.appId), "servicePrincipalId": .string(detection.servicePrincipalId),
                "keyId": .optional(detection.keyId), "hint": .optional(hint), "source": .string(detection.source),
            ])
    }

    /// A spike found by `AlertSpikeRule`.
    public static func signInSpike(_ spike: SignInSpike, tenantId: String, time: Date) -> Alert {
        Alert(
            kind: .signInSpike, time: time, tenantId: tenantId,
            data: [
                "scope": .string(spike.appId == nil ? "tenant" : "app"), "appId": .optional(spike.appId),
                "failedSignIns": .integer(Int64(spike.count)), "threshold": .integer(Int64(spike.threshold)),
                "windowStart": .string(spike.window.start.formatted(VaultEvent.timeFormat)),
                "windowEnd": .string(spike.window.end.formatted(VaultEvent.timeFormat)),
            ])
    }

    /// A credential nearing its end: `credentialType` is `password` (with its hint) or the key
    /// credential's kind (with its thumbprint when it is a certificate).
    public static func credentialExpiring(_ credential: AlertCredential, tenantId: String, time: Date) -> Alert {
        Alert(kind: .credentialExpiring, time: time, tenantId: tenantId, data: credential.data)
    }

    /// A client secret added to a tenant that had none current.
    public static func secretAdded(_ credential: AlertCredential, tenantId: String, time: Date) -> Alert {
        Alert(kind: .secretAdded, time: time, tenantId: tenantId, data: credential.data)
    }
}

/// The facts an alert gives about one credential.
public struct AlertCredential: Sendable, Equatable {
    public var appId: String
    public var servicePrincipalId: String
    public var appDisplayName: String
    /// `password`, or a key credential's kind (`AsymmetricX509Cert`, …).
    public var credentialType: String
    public var keyId: String
    public var displayName: String
    /// A client secret's first characters, as the directory shows them.
    public var hint: String?
    /// A certificate's SHA-1 thumbprint (`x5t`).
    public var thumbprint: String?
    public var endDateTime: Date?

    public init(
        appId: String, servicePrincipalId: String, appDisplayName: String, credentialType: String, keyId: String, displayName: String, hint: String?,
        thumbprint: String?, endDateTime: Date?
    ) {
        self.appId = appId
        self.servicePrincipalId = servicePrincipalId
        self.appDisplayName = appDisplayName
        self.credentialType = credentialType
        self.keyId = keyId
        self.displayName = displayName
        self.hint = hint
        self.thumbprint = thumbprint
        self.endDateTime = endDateTime
    }

    var data: [String: JSONValue] {
        [
            "appId": .string(appId), "servicePrincipalId": .string(servicePrincipalId), "appDisplayName": .string(appDisplayName),
            "credentialType": .string(credentialType), "keyId": .string(keyId), "displayName": .string(displayName), "hint": .optional(hint),
            "thumbprint": .optional(thumbprint), "endDateTime": endDateTime.map { .string($0.formatted(VaultEvent.timeFormat)) } ?? .null,
        ]
    }
}
