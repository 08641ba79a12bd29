import Foundation

/// Something Sigil has learned about how a service principal signs in: that it has signed in at
/// all (when, first), a network it used, a credential type, a credential it has used.
public struct SignInFact: Sendable, Hashable {
    public enum Kind: String, Sendable {
        /// The first successful sign-in; its time starts the learning period.
        case firstSignIn
        /// A /24 (IPv4) or /48 (IPv6) network, as `10.1.2.0/24`.
        case network
        case credentialType
        /// A credential's id, once it has signed in.
        case credential
    }

    public var kind: Kind
    public var value: String

    public init(_ kind: Kind, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

/// What the store remembers of a service principal's successful sign-ins.
public struct SignInHistory: Sendable, Equatable {
    public var firstSignIn: Date?
    public var facts: Set<SignInFact>

    public init(firstSignIn: Date? = nil, facts: Set<SignInFact> = []) {
        self.firstSignIn = firstSignIn
        self.facts = facts
    }
}

/// One successful sign-in, as the risk rules see it.
public struct ObservedSignIn: Sendable {
    public var tenantId: String
    public var servicePrincipalId: String
    public var appId: String
    public var time: Date
    public var ipAddress: String
    public var credentialType: String
    public var credentialId: String?
    /// When the credential used was added, when Sigil knows.
    public var credentialAddedAt: Date?
    public var correlationId: String

    public init(
        tenantId: String, servicePrincipalId: String, appId: String, time: Date, ipAddress: String, credentialType: String,
        credentialId: String?, credentialAddedAt: Date?, correlationId: String
    ) {
        self.tenantId = tenantId
        self.servicePrincipalId = servicePrincipalId
        self.appId = appId
        self.time = time
        self.ipAddress = ipAddress
        self.credentialType = credentialType
        self.credentialId = credentialId
        self.credentialAddedAt = credentialAddedAt
        self.correlationId = correlationId
    }
}

/// The network an address belongs to for risk: its /24 (IPv4) or /48 (IPv6), IPv4-mapped IPv6
/// addresses as IPv4. Nil for anything that is not an IP address (a Unix-socket caller).
public enum SignInNetwork {
    public static func of(_ address: String) -> String? {
        IPNetwork.enclosing(address, ipv4Prefix: 24, ipv6Prefix: 48)?.description
    }
}

/// `suspiciousSignins` and `suspiciousCredentialAddition` (DESIGN §5): after a learning period, a
/// sign-in from a network or with a credential type the service principal has not used before is
/// suspicious; a credential added less than a day before its first use, from a new network, more so.
public struct SignInRiskRules: Sendable {
    public static let suspiciousSignins = "suspiciousSignins"
    public static let suspiciousCredentialAddition = "suspiciousCredentialAddition"
    /// How soon after being added a credential's first use from a new network counts.
    public static let credentialAdditionWindow: TimeInterval = 86_400
    public static let defaultLearningPeriod: TimeInterval = 14 * 86_400

    /// How long after its first sign-in a service principal's habits are only learned, never judged.
    public var learningPeriod: TimeInterval

    public init(learningPeriod: TimeInterval = Self.defaultLearningPeriod) { self.learningPeriod = learningPeriod }

    /// What a detection says, before it has an id.
    public struct Finding: Sendable, Equatable {
        public var riskEventType: String
        public var riskLevel: RiskLevel
        /// The facts whose novelty raised it: the detection is recorded only by whoever learns them first.
        public var trigger: [SignInFact]
        public var evidence: [RiskEvidence]
    }

    /// The facts this sign-in teaches, and the finding it raises, if any.
    public func assess(_ signIn: ObservedSignIn, history: SignInHistory) -> (facts: [SignInFact], finding: Finding?) {
        let network = SignInNetwork.of(signIn.ipAddress)
        var seen: [SignInFact] = [SignInFact(.credentialType, signIn.credentialType)]
        if let network { seen.append(SignInFact(.network, network)) }
        if let credential = signIn.credentialId { seen.append(SignInFact(.credential, credential)) }
        let new = seen.filter { !history.facts.contains($0) }
        guard let first = history.firstSignIn else {
            // The first sign-in starts the history; there is nothing to compare it with.
            return ([SignInFact(.firstSignIn, "")] + new, nil)
        }
        guard !new.isEmpty, signIn.time.timeIntervalSince(first) >= learningPeriod else { return (new, nil) }

        let newNetwork = new.first { $0.kind == .network }
        let newType = new.first { $0.kind == .credentialType }
        var evidence = [RiskEvidence(key: "ipAddress", value: signIn.ipAddress), RiskEvidence(key: "credentialType", value: signIn.credentialType)]
        if let network { evidence.append(RiskEvidence(key: "network", value: network)) }
        if let credential = signIn.credentialId { evidence.append(RiskEvidence(key: "credentialId", value: credential)) }
        evidence.append(RiskEvidence(key: "correlationId", value: signIn.correlationId))

        if let newNetwork, let addedAt = signIn.credentialAddedAt, let firstUse = new.first(where: { $0.kind == .credential }),
            signIn.time.timeIntervalSince(addedAt) < Self.credentialAdditionWindow
        {
            evidence.append(RiskEvidence(key: "credentialAddedDateTime", value: addedAt.formatted(.iso8601)))
            return (new, Finding(riskEventType: Self.suspiciousCredentialAddition, riskLevel: .high, trigger: [firstUse, newNetwork], evidence: evidence))
        }
        let trigger = [newNetwork, newType].compactMap { $0 }
        guard !trigger.isEmpty else { return (new, nil) }
        var reasons: [String] = []
        if newNetwork != nil { reasons.append("newNetwork") }
        if newType != nil { reasons.append("newCredentialType") }
        evidence.insert(RiskEvidence(key: "reason", value: reasons.joined(separator: ",")), at: 0)
        return (new, Finding(riskEventType: Self.suspiciousSignins, riskLevel: trigger.count == 2 ? .high : .medium, trigger: trigger, evidence: evidence))
    }
}

/// One piece of a detection's evidence (Graph's `additionalInfo` entries).
public struct RiskEvidence: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
