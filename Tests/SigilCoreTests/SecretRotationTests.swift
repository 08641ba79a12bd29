import Foundation
import SigilCore
import Testing

/// The rotation policy's rules and its state machine, without I/O: every transition, and that a
/// state read back after a restart calls for the same step again.
@Suite struct SecretRotationTests {
    static let policy = SecretRotationPolicy(applicationId: "app", every: 30 * 86_400, overlap: 7 * 86_400)
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func refusal(every: String, overlap: String, minimum: TimeInterval = SecretRotationPolicy.defaultMinimumPeriod) -> DirectoryRuleViolation? {
        do {
            _ = try SecretRotationPolicy.periods(every: every, overlap: overlap, minimum: minimum)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Bad input

    @Test(arguments: [("P7D", "P7D"), ("P7D", "P30D"), ("PT1H", "PT2H")])
    func anOverlapNotShorterThanThePeriodIsRefused(every: String, overlap: String) {
        let refusal = Self.refusal(every: every, overlap: overlap)
        #expect(refusal?.field == "overlap")
        #expect(refusal?.message.contains("must be shorter than every") == true)
    }

    @Test(arguments: ["30 days", "P", "", "-P1D", "P1X"])
    func periodsThatAreNotDurationsAreRefused(_ text: String) {
        #expect(Self.refusal(every: text, overlap: "PT1H")?.field == "every")
        #expect(Self.refusal(every: "P30D", overlap: text)?.field == "overlap")
    }

    @Test func periodsBelowTheServersMinimumAreRefused() {
        #expect(Self.refusal(every: "PT30M", overlap: "PT10M")?.message == "every must be at least PT1H on this server, not PT30M")
        #expect(Self.refusal(every: "P1D", overlap: "PT59M")?.field == "overlap")
        // A server started with a lower minimum (tests) takes seconds.
        #expect(Self.refusal(every: "PT4S", overlap: "PT2S", minimum: 1) == nil)
        #expect(Self.refusal(every: "PT4S", overlap: "PT0S", minimum: 1)?.field == "overlap")
    }

    @Test func aMintedSecretMayNotOutliveTwoYears() {
        #expect(Self.refusal(every: "P365D", overlap: "P7D")?.message.contains("at most two years") == true)
        let periods = try? SecretRotationPolicy.periods(every: "P300D", overlap: "P30D", minimum: 3600)
        #expect(periods?.every == TimeInterval(300 * 86_400))
        #expect(periods?.overlap == TimeInterval(30 * 86_400))
    }

    // MARK: Transitions

    @Test func aNewPolicyReplacesAKnownSecretAPeriodAfterItStarted() {
        let known = SecretRotationState.initial(current: "k1", currentSince: Self.start, policy: Self.policy, now: Self.start.addingTimeInterval(86_400))
        #expect(known.phase == .idle)
        #expect(known.nextRotationAt == Self.start.addingTimeInterval(Self.policy.every))
        #expect(known.step(now: Self.start.addingTimeInterval(86_400)) == SecretRotationStep.none)
        // An older secret is due at once; an unknown one too, so the vault holds a working secret.
        let old = SecretRotationState.initial(current: "k1", currentSince: Self.start, policy: Self.policy, now: Self.start.addingTimeInterval(90 * 86_400))
        #expect(old.step(now: Self.start.addingTimeInterval(90 * 86_400)) == .mint)
        let unknown = SecretRotationState.initial(current: nil, currentSince: nil, policy: Self.policy, now: Self.start)
        #expect(unknown.step(now: Self.start) == .mint)
    }

    @Test func aFullCycleMintsKeepsTheOldOneForTheOverlapThenRemovesIt() {
        var state = SecretRotationState.initial(current: "k1", currentSince: Self.start, policy: Self.policy, now: Self.start)
        let due = Self.start.addingTimeInterval(Self.policy.every)
        #expect(state.step(now: due.addingTimeInterval(-1)) == SecretRotationStep.none)
        #expect(state.step(now: due) == .mint)

        state = state.minted(keyId: "k2", policy: Self.policy, now: due)
        #expect(state.phase == .overlap)
        #expect(state.currentKeyId == "k2")
        #expect(state.retiringKeyId == "k1")
        #expect(state.lastRotatedAt == due)
        #expect(state.dueAt == due.addingTimeInterval(Self.policy.overlap))
        #expect(state.step(now: due.addingTimeInterval(Self.policy.overlap - 1)) == SecretRotationStep.none)
        #expect(state.step(now: due.addingTimeInterval(Self.policy.overlap)) == .retire(keyId: "k1"))

        state = state.retired()
        #expect(state.phase == .idle)
        #expect(state.currentKeyId == "k2")
        #expect(state.retiringKeyId == nil)
        #expect(state.retireAt == nil)
        #expect(state.dueAt == due.addingTimeInterval(Self.policy.every))
        #expect(state.step(now: state.dueAt) == .mint)
    }

    @Test func theFirstMintWithNothingToReplaceStaysIdle() {
        let state = SecretRotationState.initial(current: nil, currentSince: nil, policy: Self.policy, now: Self.start)
            .minted(keyId: "k1", policy: Self.policy, now: Self.start)
        #expect(state.phase == .idle)
        #expect(state.retiringKeyId == nil)
        #expect(state.nextRotationAt == Self.start.addingTimeInterval(Self.policy.every))
    }

    @Test func everyStepMovesTheGenerationOn() {
        let state = SecretRotationState.initial(current: "k1", currentSince: Self.start, policy: Self.policy, now: Self.start)
        let minted = state.minted(keyId: "k2", policy: Self.policy, now: Self.start)
        #expect(minted.generation == state.generation + 1)
        #expect(minted.retired().generation == state.generation + 2)
    }

    // MARK: Resumption

    /// A server stopped at any point finds the state it last committed; the step that state
    /// calls for is the one not yet done, however late it comes back.
    @Test func aStateReadBackCallsForTheStepNotYetDone() {
        let idle = SecretRotationState.initial(current: "k1", currentSince: Self.start, policy: Self.policy, now: Self.start)
        let due = idle.nextRotationAt
        let overlap = idle.minted(keyId: "k2", policy: Self.policy, now: due)
        let retired = overlap.retired()
        let muchLater = due.addingTimeInterval(10 * Self.policy.every)
        // Stopped before the mint committed: the mint is still due.
        #expect(idle.step(now: muchLater) == .mint)
        // Stopped after the mint, before the removal: only the removal is due, never a second mint.
        #expect(overlap.step(now: muchLater) == .retire(keyId: "k1"))
        // Back up late after both: the removal first, then the overdue rotation.
        #expect(retired.step(now: muchLater) == .mint)
        // Back up early: nothing is done twice.
        #expect(overlap.step(now: due) == SecretRotationStep.none)
        #expect(retired.step(now: due.addingTimeInterval(Self.policy.overlap)) == SecretRotationStep.none)
    }

    @Test func aMintedSecretOutlivesItsRemovalByAPeriod() {
        #expect(Self.policy.lifetime == 67 * 86_400)
        let state = SecretRotationState.initial(current: nil, currentSince: nil, policy: Self.policy, now: Self.start)
            .minted(keyId: "k1", policy: Self.policy, now: Self.start)
        // Replaced at the next rotation, removed an overlap later: well before it expires.
        #expect(state.nextRotationAt.addingTimeInterval(Self.policy.overlap) < Self.start.addingTimeInterval(Self.policy.lifetime))
    }
}
