import Foundation

/// How often an app's client secret kept in a vault secret is replaced, and how long the
/// replaced one stays valid (`sigil vault rotation set VAULT/NAME --app APP --every P30D --overlap P7D`).
public struct SecretRotationPolicy: Sendable, Equatable {
    /// The application (object id) whose client secret the vault secret holds.
    public var applicationId: String
    /// Seconds between rotations.
    public var every: TimeInterval
    /// Seconds the replaced secret stays valid after a rotation; shorter than `every`.
    public var overlap: TimeInterval

    public init(applicationId: String, every: TimeInterval, overlap: TimeInterval) {
        self.applicationId = applicationId
        self.every = every
        self.overlap = overlap
    }

    /// The shortest `every` and `overlap` a server accepts unless `sigil serve --rotation-minimum-period` lowers it.
    public static let defaultMinimumPeriod: TimeInterval = 3600

    /// Reads `every` and `overlap` as ISO-8601 durations and checks them: each at least
    /// `minimum`, `overlap` shorter than `every`, and a minted secret's lifetime (`lifetime`)
    /// within the longest a client secret may last.
    public static func periods(every: String, overlap: String, minimum: TimeInterval) throws(DirectoryRuleViolation) -> (every: TimeInterval, overlap: TimeInterval) {
        var seconds: [TimeInterval] = []
        for (field, text) in [("every", every), ("overlap", overlap)] {
            guard let value = ISO8601Duration.seconds(text) else {
                throw DirectoryRuleViolation(field: field, message: "\(field) '\(text.prefix(64))' is not an ISO-8601 duration such as P30D or PT12H")
            }
            guard value >= minimum else {
                throw DirectoryRuleViolation(
                    field: field, message: "\(field) must be at least \(ISO8601Duration.text(minimum)) on this server, not \(ISO8601Duration.text(value))")
            }
            seconds.append(value)
        }
        guard seconds[1] < seconds[0] else {
            throw DirectoryRuleViolation(
                field: "overlap", message: "overlap (\(overlap)) must be shorter than every (\(every)): the replaced secret is removed before the next rotation")
        }
        let longest = lifetime(every: seconds[0], overlap: seconds[1])
        guard longest <= DirectoryRules.maximumSecretLifetime else {
            throw DirectoryRuleViolation(
                field: "every", message: "2 × every + overlap (\(ISO8601Duration.text(longest))), a minted secret's lifetime, must be at most two years (P2Y)")
        }
        return (seconds[0], seconds[1])
    }

    /// How long a minted secret is valid: removed after `every + overlap` when rotation runs,
    /// it expires one period later on its own should rotation stop.
    public static func lifetime(every: TimeInterval, overlap: TimeInterval) -> TimeInterval { 2 * every + overlap }

    public var lifetime: TimeInterval { Self.lifetime(every: every, overlap: overlap) }
}

/// Where a rotation stands: the state kept in the store, from which every step is decided
/// again after a restart.
public struct SecretRotationState: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// Waiting for the next rotation at `nextRotationAt`.
        case idle
        /// A new secret was minted and written to the vault; the replaced one (`retiringKeyId`)
        /// stays valid until `retireAt`.
        case overlap
    }

    public var phase: Phase
    /// The credential (keyId) whose value the vault's latest version holds, when known.
    public var currentKeyId: String?
    /// In `overlap`: the credential to remove at `retireAt`.
    public var retiringKeyId: String?
    public var nextRotationAt: Date
    public var retireAt: Date?
    public var lastRotatedAt: Date?
    /// Bumped by every step, so a step decided on an older state is refused.
    public var generation: Int64

    public init(
        phase: Phase, currentKeyId: String?, retiringKeyId: String? = nil, nextRotationAt: Date, retireAt: Date? = nil, lastRotatedAt: Date? = nil,
        generation: Int64 = 0
    ) {
        self.phase = phase
        self.currentKeyId = currentKeyId
        self.retiringKeyId = retiringKeyId
        self.nextRotationAt = nextRotationAt
        self.retireAt = retireAt
        self.lastRotatedAt = lastRotatedAt
        self.generation = generation
    }

    /// A new policy's state. When the vault already holds the value of one of the app's
    /// credentials (`current`, started at `currentSince`), that one is replaced a period after it
    /// started (at once when it is older); otherwise the first rotation is due at once, so the
    /// vault holds a working secret.
    public static func initial(current: String?, currentSince: Date?, policy: SecretRotationPolicy, now: Date) -> SecretRotationState {
        let due = current == nil ? now : max(now, (currentSince ?? now).addingTimeInterval(policy.every))
        return SecretRotationState(phase: .idle, currentKeyId: current, nextRotationAt: due)
    }

    /// The state under changed periods: a rotation under way goes on, and the next steps are
    /// counted from the last rotation (a first rotation keeps its time).
    public func rescheduled(policy: SecretRotationPolicy) -> SecretRotationState {
        guard let last = lastRotatedAt else { return self }
        var next = self
        next.nextRotationAt = last.addingTimeInterval(policy.every)
        if phase == .overlap { next.retireAt = last.addingTimeInterval(policy.overlap) }
        return next
    }

    /// When the next step is due.
    public var dueAt: Date { phase == .overlap ? retireAt ?? nextRotationAt : nextRotationAt }

    /// What to do now: nothing, mint a new secret, or remove the replaced one.
    public func step(now: Date) -> SecretRotationStep {
        switch phase {
        case .overlap where (retireAt ?? now) <= now: .retire(keyId: retiringKeyId)
        case .overlap: .none
        case .idle where nextRotationAt <= now: .mint
        case .idle: .none
        }
    }

    /// The state once `keyId` was minted at `now` and written as the vault's latest version:
    /// the replaced credential, if any, stays valid for the overlap; the next rotation is a
    /// period away.
    public func minted(keyId: String, policy: SecretRotationPolicy, now: Date) -> SecretRotationState {
        SecretRotationState(
            phase: currentKeyId == nil ? .idle : .overlap, currentKeyId: keyId, retiringKeyId: currentKeyId,
            nextRotationAt: now.addingTimeInterval(policy.every), retireAt: currentKeyId == nil ? nil : now.addingTimeInterval(policy.overlap),
            lastRotatedAt: now, generation: generation + 1)
    }

    /// The state once the replaced credential was removed (or found gone).
    public func retired() -> SecretRotationState {
        SecretRotationState(
            phase: .idle, currentKeyId: currentKeyId, nextRotationAt: nextRotationAt, lastRotatedAt: lastRotatedAt, generation: generation + 1)
    }
}

/// The step a rotation's state calls for.
public enum SecretRotationStep: Sendable, Equatable {
    case none
    /// Add a new client secret to the app and write its value as the vault secret's new version, in one transaction.
    case mint
    /// Remove the replaced client secret from the app (nil: nothing to remove, only the state moves on).
    case retire(keyId: String?)
}
