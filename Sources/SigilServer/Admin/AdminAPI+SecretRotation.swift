import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Rotation policies of vault secrets holding an app's client secret: set, read, remove, and
/// rotate now. The steps themselves are the `SecretRotator`'s.
extension AdminAPI {
    var secretRotationRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "vaults/{vault}/secrets/{name}/rotationPolicy", .vaultsRead) { _, context, caller in
                let (vault, name) = try await rotationTarget(context, caller)
                return .json(try await describeRotation(try await existingRotation(vault, name)))
            },
            AdminRoute(.put, "vaults/{vault}/secrets/{name}/rotationPolicy", .vaultsWrite, handler: putRotationPolicy),
            AdminRoute(.delete, "vaults/{vault}/secrets/{name}/rotationPolicy", .vaultsWrite) { _, context, caller in
                let (vault, name) = try await rotationTarget(context, caller)
                try await store.deleteSecretRotation(vaultId: vault.id, name: name) { before in
                    caller.audit("vault.secret.rotationPolicy.remove", targetType: "vaultSecret", targetId: "\(vault.name)/\(before.secretName)", before: Self.rotationAudit(before))
                }
                return Response(status: .noContent)
            },
            AdminRoute(.post, "vaults/{vault}/secrets/{name}/rotate", .vaultsWrite, handler: rotateSecretNow),
        ]
    }

    /// The vault (of the caller's tenant: another tenant's is not found) and the secret name a
    /// rotation route names.
    func rotationTarget(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> (Vault, String) {
        let vault = try await vault(try Self.pathParameter(context, "vault"), caller)
        let name = try Self.pathParameter(context, "name")
        try VaultRules.checkSecretName(name)
        return (vault, name)
    }

    func existingRotation(_ vault: Vault, _ name: String) async throws -> StoredSecretRotation {
        guard let rotation = try await store.secretRotation(vaultId: vault.id, name: name) else {
            throw AdminError.notFound("The secret '\(name)' of vault '\(vault.name)' has no rotation policy; set one with `sigil vault rotation set \(vault.name)/\(name) --app APP --every P30D --overlap P7D`.")
        }
        return rotation
    }

    func putRotationPolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let (vault, name) = try await rotationTarget(context, caller)
        let body = try await body(request, allowed: ["application", "every", "overlap"])
        let reference = try body.requiredString("application")
        let periods = try SecretRotationPolicy.periods(
            every: try body.requiredString("every"), overlap: try body.requiredString("overlap"), minimum: rotator.minimumPeriod)
        guard let app = try await store.application(tenantId: caller.tenant.id, reference: reference) else {
            throw AdminError(
                status: .notFound, code: "NotFound",
                message: "No application '\(reference.prefix(64))' in this tenant whose client secret to rotate (looked up by appId, objectId, display name and identifier URI).",
                target: "application")
        }
        let policy = SecretRotationPolicy(applicationId: app.objectId, every: periods.every, overlap: periods.overlap)
        // Refused now rather than at the first rotation: the policy in force forbids the secrets it would mint.
        try await store.checkPolicy(applicationId: app.objectId, SecretRotator.enforcement(policy))
        let current = try await rotator.currentCredential(vaultId: vault.id, name: name, applicationId: app.objectId)
        let now = Date()
        var created = false
        let stored = try await store.putSecretRotation(vaultId: vault.id, name: name) { before in
            created = before == nil
            var state = SecretRotationState.initial(current: current?.keyId, currentSince: current?.startDateTime, policy: policy, now: now)
            if let before, before.policy.applicationId == app.objectId {
                // The same app: a rotation under way goes on; only the schedule follows the new periods.
                state = before.state.rescheduled(policy: policy)
            }
            return StoredSecretRotation(
                id: before?.id ?? Self.newId(), tenantId: caller.tenant.id, vaultId: vault.id, vaultName: vault.name, secretName: before?.secretName ?? name,
                policy: policy, state: state, dueAt: state.dueAt, createdAt: before?.createdAt ?? now, updatedAt: now)
        } audit: { before, after in
            caller.audit(
                "vault.secret.rotationPolicy.set", targetType: "vaultSecret", targetId: "\(vault.name)/\(after.secretName)",
                before: before.map(Self.rotationAudit), after: Self.rotationAudit(after))
        }
        return .json(try await describeRotation(stored), status: created ? .created : .ok)
    }

    /// Mints the next secret now, as a due rotation would. Refused while the replaced secret of
    /// the last rotation is still in its overlap.
    func rotateSecretNow(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let (vault, name) = try await rotationTarget(context, caller)
        let rotation = try await existingRotation(vault, name)
        if rotation.state.phase == .overlap, let retireAt = rotation.state.retireAt {
            throw AdminError.conflict(
                "The last rotation of '\(name)' is in its overlap: its replaced secret \(rotation.state.retiringKeyId ?? "") is removed at \(retireAt.iso8601); rotate again after that.")
        }
        let rotated: StoredSecretRotation
        do {
            rotated = try await rotator.mint(rotation, now: Date()) { action, rotation, after, succeeded in
                caller.audit(action, targetType: "vaultSecret", targetId: "\(rotation.vaultName)/\(rotation.secretName)", after: after, succeeded: succeeded)
            }
        } catch let error as SecretRotationMovedOn {
            throw AdminError.conflict(error.description + " Try again.")
        }
        return .json(try await describeRotation(rotated))
    }

    func describeRotation(_ rotation: StoredSecretRotation) async throws -> JSONValue {
        let app = try await store.application(tenantId: rotation.tenantId, reference: rotation.policy.applicationId)
        guard case .object(var object) = Self.rotationAudit(rotation) else { return .null }
        object["appId"] = app.map { .string($0.appId) } ?? .null
        object["applicationDisplayName"] = app.map { .string($0.displayName) } ?? .null
        object["lastError"] = rotation.lastError.map(JSONValue.string) ?? .null
        object["createdDateTime"] = .date(rotation.createdAt)
        object["updatedDateTime"] = .date(rotation.updatedAt)
        return .object(object)
    }

    /// A rotation policy and its state as audits record them (key ids only, never a value).
    static func rotationAudit(_ rotation: StoredSecretRotation) -> JSONValue {
        let state = rotation.state
        return [
            "vault": .string(rotation.vaultName), "secretName": .string(rotation.secretName), "applicationId": .string(rotation.policy.applicationId),
            "every": .string(ISO8601Duration.text(rotation.policy.every)), "overlap": .string(ISO8601Duration.text(rotation.policy.overlap)),
            "state": .string(state.phase.rawValue), "currentKeyId": state.currentKeyId.map(JSONValue.string) ?? .null,
            "retiringKeyId": state.retiringKeyId.map(JSONValue.string) ?? .null, "nextRotationDateTime": .date(state.nextRotationAt),
            "retireDateTime": state.retireAt.map(JSONValue.date) ?? .null, "lastRotationDateTime": state.lastRotatedAt.map(JSONValue.date) ?? .null,
        ]
    }
}
