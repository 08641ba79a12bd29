import Foundation
import Logging
import SigilCore
import SigilStore
import Synchronization

/// Runs the sign-in risk rules after each successful token request. Each service principal's
/// history is read from the store once and kept in memory, so a sign-in from a known network
/// with a known credential costs a dictionary lookup; only something new is written (and may
/// raise a detection, which moves the directory generation so Conditional Access sees the risk
/// on the next request).
final class SignInRiskDetector: Sendable {
    /// Histories kept in memory before the map starts over (bounds memory).
    static let maximumEntries = 50_000

    let store: Store
    let rules: SignInRiskRules
    let logger: Logger
    private let histories = Mutex<[String: SignInHistory]>([:])

    init(store: Store, rules: SignInRiskRules, logger: Logger) {
        self.store = store
        self.rules = rules
        self.logger = logger
    }

    /// Learns from one successful sign-in; never fails the request it came from.
    func observe(_ signIn: ObservedSignIn) async {
        do {
            let cached = histories.withLock { $0[signIn.servicePrincipalId] }
            let history: SignInHistory
            if let cached { history = cached } else { history = try await store.signInHistory(servicePrincipalId: signIn.servicePrincipalId) }
            let (facts, finding) = rules.assess(signIn, history: history)
            // The common case, a known principal doing what it always does: nothing to write or keep.
            if cached != nil, facts.isEmpty { return }
            var updated = history
            if !facts.isEmpty {
                let detection = finding.map { riskDetection(for: signIn, $0) }
                let recorded = try await store.learn(
                    facts, servicePrincipalId: signIn.servicePrincipalId, at: signIn.time, detection: detection, trigger: finding?.trigger ?? [])
                if recorded, let detection {
                    logger.notice("risk detection", metadata: [
                        "riskEventType": .string(detection.riskEventType), "servicePrincipalId": .string(detection.servicePrincipalId),
                        "riskLevel": .string(detection.riskLevel.rawValue), "correlationId": .string(signIn.correlationId),
                    ])
                }
                for fact in facts {
                    if fact.kind == .firstSignIn { updated.firstSignIn = updated.firstSignIn ?? signIn.time } else { updated.facts.insert(fact) }
                }
            }
            histories.withLock { map in
                if map.count >= Self.maximumEntries { map = [:] }
                map[signIn.servicePrincipalId] = updated
            }
        } catch {
            logger.error("sign-in risk: cannot learn from sign-in \(signIn.correlationId): \(error)")
        }
    }

    private func riskDetection(for signIn: ObservedSignIn, _ finding: SignInRiskRules.Finding) -> RiskDetection {
        RiskDetection(
            id: RandomIdentifier.uuid(), tenantId: signIn.tenantId, servicePrincipalId: signIn.servicePrincipalId, appId: signIn.appId,
            riskEventType: finding.riskEventType, riskLevel: finding.riskLevel, riskState: .atRisk, detectedAt: signIn.time,
            updatedAt: signIn.time, keyId: nil, source: "sign-in", correlationId: signIn.correlationId,
            ipAddress: signIn.ipAddress, evidence: finding.evidence)
    }
}
