import Foundation

/// How risky a service principal or one detection is (Graph's `riskLevel`).
public enum RiskLevel: String, Sendable, CaseIterable, Comparable {
    case none, low, medium, high

    public static func < (lhs: RiskLevel, rhs: RiskLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Where a detection, or a service principal's risk, stands (Graph's `riskState`).
public enum RiskState: String, Sendable, CaseIterable {
    case none, atRisk, dismissed, confirmedCompromised, remediated

    /// Whether a detection in this state still counts towards its service principal's risk.
    public var isActive: Bool { self == .atRisk || self == .confirmedCompromised }
}

/// Something that made a workload identity risky (DESIGN §5), Graph's `servicePrincipalRiskDetection`.
public struct RiskDetection: Sendable, Equatable {
    /// A credential of the app was found where it should not be (a leak report from the scanner).
    public static let leakedCredentials = "leakedCredentials"
    /// An administrator confirmed the service principal is compromised.
    public static let adminConfirmedCompromised = "adminConfirmedCompromised"

    public var id: String
    public var tenantId: String
    public var servicePrincipalId: String
    public var appId: String
    public var riskEventType: String
    public var riskLevel: RiskLevel
    public var riskState: RiskState
    public var detectedAt: Date
    public var updatedAt: Date
    /// The credential concerned, when there is one (the revoked secret's keyId).
    public var keyId: String?
    /// Where the leak was found, as the reporter described it.
    public var source: String
    public var correlationId: String
    /// Filled in when read (the app may have been deleted since).
    public var servicePrincipalDisplayName: String?
    /// The address of the sign-in that raised it, for sign-in detections.
    public var ipAddress: String?
    /// Why it was raised: the network, credential, sign-in and so on.
    public var evidence: [RiskEvidence]

    public init(
        id: String, tenantId: String, servicePrincipalId: String, appId: String, riskEventType: String, riskLevel: RiskLevel,
        riskState: RiskState, detectedAt: Date, updatedAt: Date, keyId: String?, source: String, correlationId: String,
        servicePrincipalDisplayName: String? = nil, ipAddress: String? = nil, evidence: [RiskEvidence] = []
    ) {
        self.id = id
        self.tenantId = tenantId
        self.servicePrincipalId = servicePrincipalId
        self.appId = appId
        self.riskEventType = riskEventType
        self.riskLevel = riskLevel
        self.riskState = riskState
        self.detectedAt = detectedAt
        self.updatedAt = updatedAt
        self.keyId = keyId
        self.source = source
        self.correlationId = correlationId
        self.servicePrincipalDisplayName = servicePrincipalDisplayName
        self.ipAddress = ipAddress
        self.evidence = evidence
    }
}

/// A service principal's risk, derived from its detections (Graph's risky service principal).
public struct ServicePrincipalRisk: Sendable, Equatable {
    public var level: RiskLevel
    public var state: RiskState

    /// No detection at all.
    public static let clean = ServicePrincipalRisk(level: .none, state: .none)

    public init(level: RiskLevel, state: RiskState) {
        self.level = level
        self.state = state
    }

    /// The highest level among the detections still active; `confirmedCompromised` outranks
    /// `atRisk`. With none active the principal is `dismissed` if any detection was dismissed
    /// (so an administrator sees someone looked at it), otherwise `none`.
    public init(detections: some Sequence<(level: RiskLevel, state: RiskState)>) {
        var level = RiskLevel.none
        var states = Set<RiskState>()
        for detection in detections {
            states.insert(detection.state)
            if detection.state.isActive { level = max(level, detection.state == .confirmedCompromised ? .high : detection.level) }
        }
        let state = [RiskState.confirmedCompromised, .atRisk, .dismissed, .remediated].first(where: states.contains) ?? RiskState.none
        self.init(level: level, state: state)
    }
}
