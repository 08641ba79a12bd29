import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// The guided migration (`sigil migrate`, DESIGN §8): a plan from the sign-in evidence, the
/// replacement recorded, its sign-ins watched, the secrets disabled once unused for the soak
/// period, enabled again on rollback, deleted after the retention period.
extension AdminAPI {
    var migrationRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "migrations/{app}/plan", .reportsRead, scope: .application("app"), handler: migrationPlan),
            AdminRoute(.post, "migrations/{app}/apply", .migrationsWrite, scope: .application("app"), handler: applyMigration),
            AdminRoute(.get, "migrations/{app}", .reportsRead, scope: .application("app"), handler: migrationStatus),
            AdminRoute(.post, "migrations/{app}/finish", .migrationsWrite, scope: .application("app"), handler: finishMigration),
            AdminRoute(.post, "migrations/{app}/rollback", .migrationsWrite, scope: .application("app"), handler: rollbackMigration),
        ]
    }

    /// The app's client secrets that could still sign in, with their use.
    private func secrets(of app: AppRegistration, _ caller: AdminCaller, now: Date) async throws -> [InventoryItem] {
        try await store.credentialInventory(tenantId: caller.tenant.id, appIds: [app.appId], now: now)
            .filter { $0.type == .clientSecret && $0.state == .enabled }
    }

    func migrationPlan(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        _ = try Self.reportParameters(request, allowed: [])
        let app = try await application(context, caller)
        let used = try await secrets(of: app, caller, now: Date()).filter { $0.signIns > 0 }
        guard !used.isEmpty else {
            throw AdminError(
                status: .notFound, code: "NoData",
                message: "App '\(app.displayName)' has no client secret with recorded sign-ins, so there is no evidence to plan from. A secret nobody uses needs no replacement: remove it (sigil app secret remove), or let the app sign in with it first.")
        }
        let networks = Array(Set(used.flatMap(\.networks))).sorted()
        let sightings = try await store.secretlessSightings(tenantId: caller.tenant.id, networks: networks)
        let reported = ReportedApp(appId: app.appId, displayName: app.displayName, kind: app.kind)
        return .json([
            "appId": .string(app.appId), "appDisplayName": .string(app.displayName),
            "secrets": .array(used.map { secret in
                let proposal = MigrationProposal.propose(
                    app: reported, networks: secret.networks, userAgents: secret.userAgents, hosts: sightings.hosts,
                    federated: sightings.federated, authorityHost: urls.baseURL, tenantId: caller.tenant.id)
                return [
                    "keyId": .string(secret.keyId), "displayName": .string(secret.displayName), "signIns": .number(Double(secret.signIns)),
                    "lastUsedDateTime": .date(secret.lastUsed), "networks": .array(secret.networks.map(JSONValue.string)),
                    "userAgents": .array(secret.userAgents.map(JSONValue.string)), "proposal": AdminJSON.proposal(proposal),
                ]
            }),
        ])
    }

    /// Records the replacement the caller created (`sigil migrate apply` creates it through the
    /// credential routes, under the same policies as any credential): a key or federated
    /// credential of the app, or a managed identity.
    func applyMigration(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["kind", "credentialId", "managedIdentity"])
        let app = try await application(context, caller)
        let kindName = try body.requiredString("kind")
        guard let kind = MigrationProposal.Kind(rawValue: kindName) else {
            throw AdminError.badRequest("kind must be one of \(MigrationProposal.Kind.allCases.map(\.rawValue).joined(separator: ", ")), not '\(OAuthError.quoted(kindName))'.", target: "kind")
        }
        let replacement: AppMigration.Replacement
        switch kind {
        case .certificate:
            let keyId = try body.requiredString("credentialId")
            guard let key = try await store.keyCredentials(applicationId: app.objectId).first(where: { $0.keyId == keyId }) else {
                throw AdminError.badRequest("App '\(app.displayName)' has no key credential with keyId '\(OAuthError.quoted(keyId))'; add the certificate first (sigil app cert add).", target: "credentialId")
            }
            replacement = .init(
                kind: kind, appId: app.appId, credentialType: key.kind == .certificate ? .certificate : .clientAssertion,
                credentialId: key.thumbprintHex ?? key.kid, displayName: "certificate \(key.displayName) (\(key.keyId))")
        case .federatedCredential:
            let id = try body.requiredString("credentialId")
            guard let fic = try await store.federatedCredentials(applicationId: app.objectId).first(where: { $0.id == id || $0.name == id }) else {
                throw AdminError.badRequest("App '\(app.displayName)' has no federated credential '\(OAuthError.quoted(id))'; add it first (sigil app federated add).", target: "credentialId")
            }
            replacement = .init(
                kind: kind, appId: app.appId, credentialType: .federatedIdentityCredential, credentialId: fic.id,
                displayName: "federated credential \(fic.name) (\(fic.issuer))")
        case .managedIdentity:
            let reference = try body.requiredString("managedIdentity")
            guard let identity = try await store.application(tenantId: caller.tenant.id, reference: reference, kinds: [.userAssignedIdentity, .systemAssignedIdentity]) else {
                throw AdminError.badRequest("No managed identity '\(OAuthError.quoted(reference))' in this tenant; create it first (sigil mi create).", target: "managedIdentity")
            }
            replacement = .init(kind: kind, appId: identity.appId, credentialType: .managedIdentity, credentialId: nil, displayName: "managed identity \(identity.displayName)")
        }
        let now = Date()
        let secrets = try await store.passwordCredentials(applicationId: app.objectId).filter { $0.revokedAt == nil && $0.endDateTime > now }
        guard !secrets.isEmpty else {
            throw AdminError.conflict("App '\(app.displayName)' has no client secret left to replace.")
        }
        let migration = AppMigration(
            id: Self.newId(), tenantId: caller.tenant.id, applicationId: app.objectId, appId: app.appId, state: .applied,
            replacement: replacement, secretKeyIds: secrets.map(\.keyId), appliedAt: now)
        let json = AdminJSON.migration(migration)
        try await store.recordMigrationApplied(migration, audit: caller.audit("application.migration.apply", targetType: "application", targetId: app.objectId, after: json))
        return .json(json, status: .created)
    }

    private func migration(of app: AppRegistration) async throws -> AppMigration {
        guard let migration = try await store.appMigration(applicationId: app.objectId) else {
            throw AdminError.notFound("App '\(app.displayName)' was never migrated: there is nothing to finish or roll back. Start with sigil migrate plan.")
        }
        return migration
    }

    func migrationStatus(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let migration = try await migration(of: app)
        let rows = try await store.signInsPerCredential(
            tenantId: caller.tenant.id, appIds: Array(Set([app.appId, migration.replacement.appId])), since: migration.appliedAt)
        var json = AdminJSON.migration(migration).objectValue ?? [:]
        json["signInsSinceApplied"] = .array(rows.map { row in
            let isReplacement = row.appId == migration.replacement.appId && row.type == migration.replacement.credentialType.rawValue
                && (migration.replacement.credentialId == nil || row.credentialId == migration.replacement.credentialId)
            let role = isReplacement ? "replacement" : row.type == CredentialType.clientSecret.rawValue ? "secret" : "other"
            return [
                "appId": .string(row.appId), "credentialType": .optional(row.type), "credentialId": .optional(row.credentialId),
                "role": .string(role), "succeeded": .bool(row.succeeded), "signIns": .number(Double(row.count)), "lastDateTime": .date(row.last),
            ]
        })
        return .json(.object(json))
    }

    func finishMigration(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["soak", "retention", "delete"])
        let soak = try Self.duration(body, "soak", default: AppMigration.defaultSoak)
        let retention = try Self.duration(body, "retention", default: AppMigration.defaultRetention)
        let app = try await application(context, caller)
        let migration = try await migration(of: app)
        let now = Date()
        if try body.bool("delete") == true {
            guard migration.state == .finished else {
                throw AdminError.conflict("Only the secrets of a finished migration are deleted; app '\(app.displayName)' is \(migration.state.rawValue). Run sigil migrate finish first.")
            }
            try await store.deleteMigratedSecrets(migration, now: now, audit: caller.audit(
                "application.migration.deleteSecrets", targetType: "application", targetId: app.objectId,
                after: ["keyIds": .array(migration.secretKeyIds.map(JSONValue.string))]))
            return .json(AdminJSON.migration(try await self.migration(of: app)))
        }
        let secretsLastUsed = try await store.credentialInventory(tenantId: caller.tenant.id, appIds: [app.appId], now: now)
            .filter { $0.type == .clientSecret && migration.secretKeyIds.contains($0.keyId) }.compactMap(\.lastUsed).max()
        let replacementLastUsed = try await store.signInsPerCredential(tenantId: caller.tenant.id, appIds: [migration.replacement.appId], since: now.addingTimeInterval(-soak))
            .filter { $0.succeeded && $0.type == migration.replacement.credentialType.rawValue
                && (migration.replacement.credentialId == nil || $0.credentialId == migration.replacement.credentialId) }
            .map(\.last).max()
        if let blocker = migration.finishBlocker(secretsLastUsed: secretsLastUsed, replacementLastUsed: replacementLastUsed, now: now, soak: soak) {
            throw AdminError.conflict("Not finished: \(blocker).")
        }
        var finished = migration
        finished.state = .finished
        finished.finishedAt = now
        finished.deleteAfter = now.addingTimeInterval(retention)
        try await store.moveMigration(
            migration, from: [.applied, .rolledBack], to: .finished, disableSecrets: true, deleteAfter: finished.deleteAfter, now: now,
            audit: caller.audit("application.migration.finish", targetType: "application", targetId: app.objectId,
                                before: AdminJSON.migration(migration), after: AdminJSON.migration(finished)))
        return .json(AdminJSON.migration(try await self.migration(of: app)))
    }

    func rollbackMigration(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let migration = try await migration(of: app)
        guard migration.state == .finished else {
            throw AdminError.conflict("Nothing to roll back: the migration of app '\(app.displayName)' is \(migration.state.rawValue), so its secrets are not disabled by it.")
        }
        var rolledBack = migration
        rolledBack.state = .rolledBack
        try await store.moveMigration(
            migration, from: [.finished], to: .rolledBack, disableSecrets: false, deleteAfter: nil, now: Date(),
            audit: caller.audit("application.migration.rollback", targetType: "application", targetId: app.objectId,
                                before: AdminJSON.migration(migration), after: AdminJSON.migration(rolledBack)))
        return .json(AdminJSON.migration(try await self.migration(of: app)))
    }

    /// An ISO-8601 duration field of at least one second.
    static func duration(_ body: JSONBody, _ name: String, default value: TimeInterval) throws -> TimeInterval {
        guard let text = try body.string(name) else { return value }
        guard let seconds = ISO8601Duration.seconds(text), seconds >= 1 else {
            throw AdminError.badRequest("'\(name)' must be an ISO-8601 duration of at least one second, such as P7D or PT30S, not '\(OAuthError.quoted(text))'.", target: name)
        }
        return seconds
    }
}

extension AdminJSON {
    static func proposal(_ proposal: MigrationProposal) -> JSONValue {
        [
            "kind": .string(proposal.kind.rawValue), "evidence": .array(proposal.evidence.map(JSONValue.string)),
            "hostId": .optional(proposal.hostId), "hostName": .optional(proposal.hostName), "issuer": .optional(proposal.issuer),
            "subject": .optional(proposal.subject), "subjectKnown": .bool(proposal.subjectKnown),
            "snippets": .object(proposal.snippets.mapValues(JSONValue.string)),
        ]
    }

    static func migration(_ migration: AppMigration) -> JSONValue {
        let replacement = migration.replacement
        return [
            "id": .string(migration.id), "appId": .string(migration.appId), "state": .string(migration.state.rawValue),
            "replacement": [
                "kind": .string(replacement.kind.rawValue), "appId": .string(replacement.appId),
                "credentialType": .string(replacement.credentialType.rawValue), "credentialId": .optional(replacement.credentialId),
                "displayName": .string(replacement.displayName),
            ],
            "secretKeyIds": .array(migration.secretKeyIds.map(JSONValue.string)), "appliedDateTime": .date(migration.appliedAt),
            "finishedDateTime": .date(migration.finishedAt), "deleteAfterDateTime": .date(migration.deleteAfter),
        ]
    }
}
