import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore

/// Performs the steps of secret rotations (DESIGN §6): the service for the steps that come due,
/// the admin API for a rotation asked for now. The step is decided from the stored state and
/// written with it, so a step interrupted before its commit is simply decided again.
struct SecretRotator: Sendable {
    let store: Store
    /// Read `kek.ring` at each seal and open: a key-encryption key rotation changes it.
    let kek: KeyEncryptionKeys
    /// The shortest `every` and `overlap` a policy may have on this server.
    let minimumPeriod: TimeInterval
    let logger: Logger

    /// Makes the audit event of a step: its action and what it did (never a value), and whether it succeeded.
    typealias Audit = @Sendable (_ action: String, _ rotation: StoredSecretRotation, _ after: JSONValue, _ succeeded: Bool) -> AuditEvent

    /// Audits a step the service took on its own.
    static let serviceAudit: Audit = { action, rotation, after, succeeded in
        AuditEvent(
            time: Date(), tenantId: rotation.tenantId, actorId: "sigil", actorName: "sigil secret rotation", action: action,
            targetType: "vaultSecret", targetId: "\(rotation.vaultName)/\(rotation.secretName)", after: after, ipAddress: "",
            succeeded: succeeded, correlationId: RandomIdentifier.uuid())
    }

    /// How the app management policy judges the secrets a rotation mints: Sigil-generated,
    /// lasting the policy's `lifetime`.
    static func enforcement(_ policy: SecretRotationPolicy) -> PolicyEnforcement {
        let judged = PolicyCredential.password(
            lifetime: policy.lifetime, requested: "\(ISO8601Duration.text(policy.lifetime)) (2 × every + overlap of the rotation policy)", custom: false)
        return { try CredentialPolicyCheck.check(judged, appCreatedAt: $1, policy: $0) }
    }

    /// The app's client secret whose value the secret's latest version holds, if any: the one a
    /// new policy's first rotation replaces.
    func currentCredential(vaultId: String, name: String, applicationId: String) async throws -> PasswordCredential? {
        guard let latest = try await store.secretVersion(vaultId: vaultId, name: name, version: nil),
            let value = try? kek.ring.open(latest.envelope, context: latest.context)
        else { return nil }
        return try await store.passwordCredentials(applicationId: applicationId).first { $0.revokedAt == nil && $0.hash.matches(secret: value) }
    }

    /// Mints a client secret for the app and writes its value as the secret's new (managed)
    /// version, in one transaction: the value exists in the vault exactly when the app accepts it.
    func mint(_ rotation: StoredSecretRotation, now: Date, audit: Audit) async throws -> StoredSecretRotation {
        let policy = rotation.policy
        let value = SigilSecretFormat.generate(.clientSecret)
        let credential = PasswordCredential.minted(
            value, keyId: RandomIdentifier.uuid(), applicationId: policy.applicationId,
            displayName: "rotated into \(rotation.vaultName)/\(rotation.secretName)", start: now, lifetime: policy.lifetime)
        let version = SecretVersion(
            secretName: rotation.secretName, version: VaultRules.newVersion(), properties: SecretProperties(expires: credential.endDateTime),
            createdAt: now, updatedAt: now, managed: true)
        let next = rotation.state.minted(keyId: credential.keyId, policy: policy, now: now)
        let after: JSONValue = [
            "vault": .string(rotation.vaultName), "secret": .string(rotation.secretName), "version": .string(version.version),
            "applicationId": .string(policy.applicationId), "keyId": .string(credential.keyId),
            "replacedKeyId": rotation.state.currentKeyId.map(JSONValue.string) ?? .null, "endDateTime": .date(credential.endDateTime),
        ]
        let kek = self.kek
        let moved = try await store.mintRotatedSecret(
            rotation, credential: credential, version: version,
            seal: { secretId in try kek.ring.seal(value, context: SecretEnvelope.context(secretId: secretId, version: version.version)) },
            enforce: Self.enforcement(policy), next: next,
            audit: audit("vault.secret.rotation.mint", rotation, after, true))
        logger.notice("secret rotation: minted client secret \(credential.keyId) into \(rotation.vaultName)/\(rotation.secretName) version \(version.version)")
        return moved
    }

    /// Removes the replaced client secret once the overlap has passed.
    func retire(_ rotation: StoredSecretRotation, keyId: String?, now: Date, audit: Audit) async throws -> StoredSecretRotation {
        let (moved, removed) = try await store.retireRotatedSecret(rotation, keyId: keyId, next: rotation.state.retired(), at: now) { removed in
            audit(
                "vault.secret.rotation.retire", rotation,
                [
                    "vault": .string(rotation.vaultName), "secret": .string(rotation.secretName), "applicationId": .string(rotation.policy.applicationId),
                    "keyId": keyId.map(JSONValue.string) ?? .null, "removed": .bool(removed),
                ], true)
        }
        logger.notice(
            "secret rotation: \(removed ? "removed" : "found already gone") replaced client secret \(keyId ?? "-") of \(rotation.vaultName)/\(rotation.secretName)")
        return moved
    }

    /// Performs the step `rotation` calls for at `now`, if any. A failure is recorded on the
    /// rotation (shown by `sigil vault rotation show`), audited, and tried again later.
    @discardableResult
    func performDueStep(_ rotation: StoredSecretRotation, now: Date) async -> Bool {
        do {
            switch rotation.state.step(now: now) {
            case .none: return false
            case .mint: _ = try await mint(rotation, now: now, audit: Self.serviceAudit)
            case .retire(let keyId): _ = try await retire(rotation, keyId: keyId, now: now, audit: Self.serviceAudit)
            }
            return true
        } catch is SecretRotationMovedOn {
            // Another replica or an administrator moved it on: nothing to do here.
            return false
        } catch {
            let described = AdminError(error)
            let message = described.status == .internalServerError ? "\(error)" : described.message
            let retryAt = now.addingTimeInterval(Self.retryDelay(rotation.policy))
            logger.error("secret rotation of \(rotation.vaultName)/\(rotation.secretName) failed, trying again at \(retryAt.formatted(.iso8601)): \(message)")
            try? await store.recordSecretRotationFailure(
                rotation, message: message, retryAt: retryAt,
                audit: Self.serviceAudit(
                    "vault.secret.rotation.fail", rotation,
                    ["vault": .string(rotation.vaultName), "secret": .string(rotation.secretName), "error": .string(message)], false))
            return false
        }
    }

    /// How long a failed step waits before it is tried again: a quarter of the overlap (the
    /// replaced secret's remaining time), at most 15 minutes.
    static func retryDelay(_ policy: SecretRotationPolicy) -> TimeInterval { min(max(policy.overlap / 4, 1), 900) }

    /// Performs every due step, a batch at a time; a rotation overdue for both steps (the server
    /// was down) gets its removal, then its mint, in the same call.
    func performDueSteps(now: Date = Date()) async {
        for _ in 0..<Self.maximumPasses {
            let due: [StoredSecretRotation]
            do {
                due = try await store.dueSecretRotations(now: now, limit: Self.batch)
            } catch {
                logger.error("secret rotation: reading due rotations failed: \(error)")
                return
            }
            var progressed = false
            for rotation in due where !Task.isShuttingDownGracefully {
                if await performDueStep(rotation, now: now) { progressed = true }
            }
            // A step that succeeded may leave the next one due at once (both were overdue); look again.
            if !progressed { return }
        }
    }

    static let batch = 100
    static let maximumPasses = 4
}

/// The background job that wakes on an interval and performs due rotation steps. It holds no
/// timer that matters: what is due is read from the store each time.
struct SecretRotationService: Service {
    let rotator: SecretRotator
    let interval: Duration

    /// Wakes every minute, or every minimum period when that is shorter (tests).
    static func interval(minimumPeriod: TimeInterval) -> Duration { .milliseconds(Int64(min(60, minimumPeriod) * 1000)) }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await rotator.performDueSteps()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
