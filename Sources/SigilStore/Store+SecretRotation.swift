import Foundation
import SQLKit
import SigilCore

/// A vault secret's rotation policy with its state, as stored.
public struct StoredSecretRotation: Sendable, Equatable {
    public var id: String
    public var tenantId: String
    public var vaultId: String
    public var vaultName: String
    /// The secret's name as the policy was set (the secret may not exist before the first rotation).
    public var secretName: String
    public var policy: SecretRotationPolicy
    public var state: SecretRotationState
    /// When the service next looks at it: the state's due time, or a retry after a failed step.
    public var dueAt: Date
    /// Why the last step failed, until a step succeeds.
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, tenantId: String, vaultId: String, vaultName: String, secretName: String, policy: SecretRotationPolicy, state: SecretRotationState,
        dueAt: Date, lastError: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.tenantId = tenantId
        self.vaultId = vaultId
        self.vaultName = vaultName
        self.secretName = secretName
        self.policy = policy
        self.state = state
        self.dueAt = dueAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A rotation step was decided on a state that another step, a replica or an administrator has
/// since changed: nothing was written.
public struct SecretRotationMovedOn: Error, CustomStringConvertible {
    public let secretName: String
    public var description: String { "The rotation of '\(secretName)' moved on or was removed while this step was decided; nothing was changed." }
}

/// Rotation policies of vault secrets and the steps of a rotation (DESIGN §6). Each step is one
/// transaction with its audit event, and moves the stored state on only if nothing else moved
/// it since the step was decided (`generation`), so a restart or a second replica never does a
/// step twice.
extension Store {
    /// Sets the policy of `name` in the vault: `change` sees the stored one (nil: none) and
    /// returns the new one.
    public func putSecretRotation(
        vaultId: String, name: String, change: (StoredSecretRotation?) throws -> StoredSecretRotation,
        audit: (StoredSecretRotation?, StoredSecretRotation) -> AuditEvent
    ) async throws -> StoredSecretRotation {
        try await transaction(changesDirectory: false) { database in
            let before = try await Self.secretRotation(vaultId: vaultId, name: name, on: database)
            var after = try change(before)
            // A step decided on the replaced policy finds the generation moved.
            after.state.generation = (before?.state.generation ?? -1) + 1
            if before != nil {
                try await database.raw("DELETE FROM vault_secret_rotations WHERE vault_id = \(bind: vaultId) AND name_key = \(bind: name.lowercased())").run()
            }
            let (policy, state) = (after.policy, after.state)
            try await database.raw("""
                INSERT INTO vault_secret_rotations (id, vault_id, secret_name, name_key, application_id, every_ms, overlap_ms, phase, current_key_id,
                    retiring_key_id, next_rotation_at, retire_at, last_rotated_at, due_at, last_error, generation, created_at, updated_at)
                VALUES (\(bind: after.id), \(bind: vaultId), \(bind: after.secretName), \(bind: name.lowercased()), \(bind: policy.applicationId),
                    \(bind: Int64(policy.every * 1000)), \(bind: Int64(policy.overlap * 1000)), \(bind: state.phase.rawValue), \(bind: state.currentKeyId),
                    \(bind: state.retiringKeyId), \(bind: state.nextRotationAt.epochMilliseconds), \(bind: state.retireAt?.epochMilliseconds),
                    \(bind: state.lastRotatedAt?.epochMilliseconds), \(bind: after.dueAt.epochMilliseconds), \(bind: after.lastError),
                    \(bind: state.generation), \(bind: after.createdAt.epochMilliseconds), \(bind: after.updatedAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit(before, after), on: database)
            return after
        }
    }

    public func secretRotation(vaultId: String, name: String) async throws -> StoredSecretRotation? {
        try await read { database in try await Self.secretRotation(vaultId: vaultId, name: name, on: database) }
    }

    /// Removes the policy of `name`; the app's client secrets and the vault's versions stay as they are.
    public func deleteSecretRotation(vaultId: String, name: String, audit: (StoredSecretRotation) -> AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            guard let before = try await Self.secretRotation(vaultId: vaultId, name: name, on: database) else {
                throw StoreError.notFound("The secret '\(name)' has no rotation policy.")
            }
            try await database.raw("DELETE FROM vault_secret_rotations WHERE id = \(bind: before.id)").run()
            try await Self.insertAudit(audit(before), on: database)
        }
    }

    /// Policies with a step due at `now`, the longest waiting first.
    public func dueSecretRotations(now: Date, limit: Int) async throws -> [StoredSecretRotation] {
        try await read { database in
            try await database.raw("""
                SELECT r.*, v.tenant_id, v.name AS vault_name FROM vault_secret_rotations r JOIN vaults v ON v.id = r.vault_id
                WHERE r.due_at <= \(bind: now.epochMilliseconds) ORDER BY r.due_at LIMIT \(bind: limit)
                """).all().map(Self.secretRotation)
        }
    }

    /// The mint step, in one transaction: `credential` is added to the app (refused when
    /// `enforce` refuses it under the app management policy), the version sealed by `seal` is
    /// written to the vault secret (created if need be), and the rotation moves to `next`. The
    /// new value therefore exists in the vault exactly when the app accepts it.
    public func mintRotatedSecret(
        _ rotation: StoredSecretRotation, credential: PasswordCredential, version: SecretVersion, seal: (String) throws -> SecretEnvelope,
        enforce: PolicyEnforcement, next: SecretRotationState, audit: AuditEvent
    ) async throws -> StoredSecretRotation {
        try await transaction { database in
            let moved = try await Self.moveSecretRotation(rotation, to: next, at: version.createdAt, on: database)
            try await Self.insertPasswordCredential(credential, enforce: enforce, on: database)
            _ = try await Self.insertSecretVersion(vaultId: rotation.vaultId, name: rotation.secretName, version: version, seal: seal, on: database)
            try await Self.insertAudit(audit, on: database)
            return moved
        }
    }

    /// The retire step, in one transaction: the replaced client secret is removed from the app
    /// (already gone counts as removed) and the rotation moves to `next`. Returns the moved
    /// rotation and whether a credential was removed.
    public func retireRotatedSecret(
        _ rotation: StoredSecretRotation, keyId: String?, next: SecretRotationState, at now: Date, audit: (_ removed: Bool) -> AuditEvent
    ) async throws -> (rotation: StoredSecretRotation, removed: Bool) {
        try await transaction { database in
            let moved = try await Self.moveSecretRotation(rotation, to: next, at: now, on: database)
            var removed = false
            if let keyId {
                removed = !(try await database.raw("""
                    DELETE FROM password_credentials WHERE application_id = \(bind: rotation.policy.applicationId) AND key_id = \(bind: keyId) RETURNING key_id
                    """).all()).isEmpty
            }
            try await Self.insertAudit(audit(removed), on: database)
            return (moved, removed)
        }
    }

    /// Records a failed step: the state stays, `message` says why, and the step is tried again
    /// at `retryAt`. Nothing is written when the rotation moved on meanwhile.
    public func recordSecretRotationFailure(_ rotation: StoredSecretRotation, message: String, retryAt: Date, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let updated = try await database.raw("""
                UPDATE vault_secret_rotations SET last_error = \(bind: message), due_at = \(bind: retryAt.epochMilliseconds)
                WHERE id = \(bind: rotation.id) AND generation = \(bind: rotation.state.generation) RETURNING id
                """).all()
            guard !updated.isEmpty else { return }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Moves a rotation to `next` if its stored generation is still the one the step was decided
    /// on. The update comes first in the step's transaction: on PostgreSQL it takes the row's
    /// lock, so a second replica deciding the same step waits, then finds the generation moved.
    static func moveSecretRotation(_ rotation: StoredSecretRotation, to next: SecretRotationState, at now: Date, on database: any SQLDatabase) async throws
        -> StoredSecretRotation
    {
        let updated = try await database.raw("""
            UPDATE vault_secret_rotations SET phase = \(bind: next.phase.rawValue), current_key_id = \(bind: next.currentKeyId),
                retiring_key_id = \(bind: next.retiringKeyId), next_rotation_at = \(bind: next.nextRotationAt.epochMilliseconds),
                retire_at = \(bind: next.retireAt?.epochMilliseconds), last_rotated_at = \(bind: next.lastRotatedAt?.epochMilliseconds),
                due_at = \(bind: next.dueAt.epochMilliseconds), last_error = NULL, generation = \(bind: next.generation), updated_at = \(bind: now.epochMilliseconds)
            WHERE id = \(bind: rotation.id) AND generation = \(bind: rotation.state.generation) RETURNING id
            """).all()
        guard !updated.isEmpty else { throw SecretRotationMovedOn(secretName: rotation.secretName) }
        var moved = rotation
        moved.state = next
        moved.dueAt = next.dueAt
        moved.lastError = nil
        moved.updatedAt = now
        return moved
    }

    static func secretRotation(vaultId: String, name: String, on database: any SQLDatabase) async throws -> StoredSecretRotation? {
        try await database.raw("""
            SELECT r.*, v.tenant_id, v.name AS vault_name FROM vault_secret_rotations r JOIN vaults v ON v.id = r.vault_id
            WHERE r.vault_id = \(bind: vaultId) AND r.name_key = \(bind: name.lowercased())
            """).first().map(secretRotation)
    }

    static func secretRotation(_ row: any SQLRow) throws -> StoredSecretRotation {
        let id = try row.string("id")
        guard let phase = SecretRotationState.Phase(rawValue: try row.string("phase")) else {
            throw StoreError.unavailable("the stored phase of secret rotation \(id) cannot be read")
        }
        let state = SecretRotationState(
            phase: phase, currentKeyId: try row.optionalString("current_key_id"),
            retiringKeyId: try row.optionalString("retiring_key_id"), nextRotationAt: try row.date("next_rotation_at"),
            retireAt: try row.optionalDate("retire_at"), lastRotatedAt: try row.optionalDate("last_rotated_at"), generation: try row.int64("generation"))
        return StoredSecretRotation(
            id: id, tenantId: try row.string("tenant_id"), vaultId: try row.string("vault_id"),
            vaultName: try row.string("vault_name"), secretName: try row.string("secret_name"),
            policy: SecretRotationPolicy(
                applicationId: try row.string("application_id"), every: Double(try row.int64("every_ms")) / 1000,
                overlap: Double(try row.int64("overlap_ms")) / 1000),
            state: state, dueAt: try row.date("due_at"), lastError: try row.optionalString("last_error"), createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"))
    }
}
