import Foundation
import SQLKit
import SigilCore

/// Incident response (DESIGN §8): containing a service principal and releasing it, each in one
/// transaction with its audit event, the revocation list, and the logs a timeline is made of.
extension Store {
    /// Contains a service principal in one transaction: the principal is disabled, and so is each
    /// of its credentials not disabled already; its tokens issued until now go on the revocation
    /// list; of the vault secrets `grants` lets it read, those under a rotation policy have their
    /// next rotation made due now and the others are listed for rotation by hand; the incident
    /// is recorded with its audit event. The directory generation moves, so every cache drops
    /// the principal at once. Refused (nothing written) when the principal is already contained.
    public func contain(
        _ principal: AppRegistration, grants: RoleGrants, by actor: Incident.Actor, at now: Date, audit: (Incident) -> AuditEvent
    ) async throws -> Incident {
        try await transaction { database in
            if let open = try await Self.incidents(where: "service_principal_id = \(bind: principal.servicePrincipalId) AND state = 'contained'", on: database).first {
                throw StoreError.conflict(IncidentRefusal.alreadyContained(principal.displayName, since: open.containedAt).description)
            }
            guard let row = try await database.raw("SELECT enabled FROM applications WHERE object_id = \(bind: principal.objectId)").first() else {
                throw StoreError.notFound("'\(principal.displayName)' was deleted; nothing was contained")
            }
            try await database.raw("UPDATE applications SET enabled = 0 WHERE object_id = \(bind: principal.objectId)").run()
            let incident = Incident(
                id: RandomIdentifier.uuid(), tenantId: principal.tenantId, applicationId: principal.objectId,
                servicePrincipalId: principal.servicePrincipalId, appId: principal.appId, displayName: principal.displayName, state: .contained,
                containedAt: now, containedBy: actor, wasEnabled: try row.bool("enabled"),
                disabledCredentials: try await Self.disableCredentials(applicationId: principal.objectId, at: now, on: database),
                secrets: try await Self.putUpForRotation(tenantId: principal.tenantId, grants: grants, at: now, on: database))
            do {
                try await database.raw("""
                    INSERT INTO incidents (id, tenant_id, application_id, service_principal_id, app_id, display_name, state, contained_at,
                        contained_by_id, contained_by_name, was_enabled, disabled_credentials, secrets)
                    VALUES (\(bind: incident.id), \(bind: incident.tenantId), \(bind: incident.applicationId), \(bind: incident.servicePrincipalId),
                        \(bind: incident.appId), \(bind: incident.displayName), 'contained', \(bind: now.epochMilliseconds), \(bind: actor.id),
                        \(bind: actor.displayName), \(bind: incident.wasEnabled ? 1 : 0),
                        \(bind: JSONValue.array(incident.disabledCredentials.map(Self.credentialJSON)).serialized()),
                        \(bind: JSONValue.array(incident.secrets.map(Self.secretJSON)).serialized()))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                // Another replica contained it meanwhile.
                throw StoreError.conflict(IncidentRefusal.alreadyContained(principal.displayName, since: now).description)
            }
            let revocation = TokenRevocation(servicePrincipalId: principal.servicePrincipalId, appId: principal.appId, revokedBefore: now)
            try await database.raw("DELETE FROM token_revocations WHERE service_principal_id = \(bind: principal.servicePrincipalId)").run()
            try await database.raw("""
                INSERT INTO token_revocations (service_principal_id, tenant_id, app_id, revoked_before, expires_at)
                VALUES (\(bind: revocation.servicePrincipalId), \(bind: principal.tenantId), \(bind: revocation.appId),
                    \(bind: now.epochMilliseconds), \(bind: revocation.expiresAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit(incident), on: database)
            return incident
        }
    }

    /// Ends the open containment of a service principal in one transaction: the principal is
    /// enabled again if it was enabled when contained, and so are the credentials the
    /// containment disabled (not those disabled before it, nor since); the revocation of the
    /// tokens issued until the containment stays. Refused when the principal is not contained.
    public func release(_ principal: AppRegistration, by actor: Incident.Actor, at now: Date, audit: (Incident) -> AuditEvent) async throws -> Incident {
        try await transaction { database in
            guard var incident = try await Self.incidents(
                where: "service_principal_id = \(bind: principal.servicePrincipalId) AND state = 'contained'", on: database).first
            else {
                throw StoreError.conflict(IncidentRefusal.notContained(principal.displayName).description)
            }
            if incident.wasEnabled {
                try await database.raw("UPDATE applications SET enabled = 1 WHERE object_id = \(bind: principal.objectId)").run()
            }
            try await Self.enableCredentials(incident.disabledCredentials, applicationId: principal.objectId, at: now, on: database)
            incident.state = .released
            incident.releasedAt = now
            incident.releasedBy = actor
            try await database.raw("""
                UPDATE incidents SET state = 'released', released_at = \(bind: now.epochMilliseconds), released_by_id = \(bind: actor.id),
                    released_by_name = \(bind: actor.displayName)
                WHERE id = \(bind: incident.id)
                """).run()
            try await Self.insertAudit(audit(incident), on: database)
            return incident
        }
    }

    /// The secrets of the tenant's vaults (not deleted) that `grants` lets read, each put up for
    /// rotation: a rotation policy's next rotation is made due now (its generation moves, so a
    /// step decided before is decided again); a secret without one is listed for rotation by hand.
    static func putUpForRotation(tenantId: String, grants: RoleGrants, at now: Date, on database: any SQLDatabase) async throws -> [ExposedSecret] {
        let rows = try await database.raw("""
            SELECT v.id AS vault_id, v.name AS vault_name, s.name, r.id AS rotation_id, r.phase
            FROM vault_secrets s JOIN vaults v ON v.id = s.vault_id
                LEFT JOIN vault_secret_rotations r ON r.vault_id = s.vault_id AND r.name_key = s.name_key
            WHERE v.tenant_id = \(bind: tenantId) AND s.deleted_at IS NULL
            ORDER BY v.name, s.name_key
            """).all()
        var secrets: [ExposedSecret] = []
        for row in rows {
            let (vaultId, vault, name) = (try row.string("vault_id"), try row.string("vault_name"), try row.string("name"))
            guard !ExposedSecret.readable([(vaultId, vault, name)], grants: grants).isEmpty else { continue }
            var rotation = ExposedSecret.Rotation.manual
            if let rotationId = try row.optionalString("rotation_id") {
                let inOverlap = try row.optionalString("phase") == SecretRotationState.Phase.overlap.rawValue
                // In its overlap the due time stays the retirement's; the mint follows it at once.
                let due: SQLQueryString = inOverlap ? "" : ", due_at = \(bind: now.epochMilliseconds)"
                try await database.raw("""
                    UPDATE vault_secret_rotations SET next_rotation_at = \(bind: now.epochMilliseconds)\(due), generation = generation + 1,
                        updated_at = \(bind: now.epochMilliseconds)
                    WHERE id = \(bind: rotationId)
                    """).run()
                rotation = inOverlap ? .afterOverlap : .due
            }
            secrets.append(ExposedSecret(vaultId: vaultId, vault: vault, name: name, rotation: rotation))
        }
        return secrets
    }

    /// Disables every credential of the application not disabled already; returns those it disabled.
    static func disableCredentials(applicationId: String, at now: Date, on database: any SQLDatabase) async throws -> [Incident.Credential] {
        var enabled: [CredentialReference] = []
        for kind in CredentialKind.allCases {
            let (table, id) = kind.table
            enabled += try await database.raw("""
                SELECT \(unsafeRaw: id) AS id FROM \(unsafeRaw: table) WHERE application_id = \(bind: applicationId) AND disabled_at IS NULL ORDER BY \(unsafeRaw: id)
                """).all().map { CredentialReference(kind: kind, applicationId: applicationId, id: try $0.string("id")) }
        }
        try await setCredentialsDisabled(enabled, disabled: true, at: now, on: database)
        return enabled.map { Incident.Credential(kind: $0.kind.rawValue, id: $0.id) }
    }

    /// Enables again those of `credentials` that still exist and are still disabled (one removed
    /// meanwhile, such as the credential that leaked, stays removed).
    static func enableCredentials(_ credentials: [Incident.Credential], applicationId: String, at now: Date, on database: any SQLDatabase) async throws {
        var disabled: [CredentialReference] = []
        for credential in credentials {
            guard let kind = CredentialKind(rawValue: credential.kind) else { continue }
            let (table, id) = kind.table
            let row = try await database.raw("""
                SELECT \(unsafeRaw: id) FROM \(unsafeRaw: table)
                WHERE application_id = \(bind: applicationId) AND \(unsafeRaw: id) = \(bind: credential.id) AND disabled_at IS NOT NULL
                """).first()
            if row != nil { disabled.append(CredentialReference(kind: kind, applicationId: applicationId, id: credential.id)) }
        }
        try await setCredentialsDisabled(disabled, disabled: false, at: now, on: database)
    }

    // MARK: Reading

    /// The tenant's incidents, newest first.
    public func incidents(tenantId: String, limit: Int = 1000) async throws -> [Incident] {
        try await read { database in
            try await Self.incidents(where: "tenant_id = \(bind: tenantId) ORDER BY contained_at DESC, id LIMIT \(bind: limit)", on: database)
        }
    }

    public func incident(tenantId: String, id: String) async throws -> Incident? {
        try await read { database in try await Self.incidents(where: "tenant_id = \(bind: tenantId) AND id = \(bind: id)", on: database).first }
    }

    /// The latest incident of a service principal, open or not.
    public func latestIncident(servicePrincipalId: String) async throws -> Incident? {
        try await read { database in
            try await Self.incidents(where: "service_principal_id = \(bind: servicePrincipalId) ORDER BY contained_at DESC LIMIT 1", on: database).first
        }
    }

    /// The revocation of a service principal's tokens, if its list entry has not expired.
    public func tokenRevocation(servicePrincipalId: String, now: Date) async throws -> TokenRevocation? {
        try await read { database in
            try await database.raw("""
                SELECT * FROM token_revocations WHERE service_principal_id = \(bind: servicePrincipalId) AND expires_at > \(bind: now.epochMilliseconds)
                """).first().map(Self.tokenRevocation)
        }
    }

    /// The tenant's revocation list: every entry that still covers an unexpired token.
    public func tokenRevocations(tenantId: String, now: Date) async throws -> [TokenRevocation] {
        try await read { database in
            try await database.raw("""
                SELECT * FROM token_revocations WHERE tenant_id = \(bind: tenantId) AND expires_at > \(bind: now.epochMilliseconds)
                ORDER BY revoked_before, service_principal_id
                """).all().map(Self.tokenRevocation)
        }
    }

    /// Audit events in `since..<until` that name the principal as their target (any of
    /// `targetIds`) or as their actor (`actorId`), newest first.
    public func auditEvents(tenantId: String, targetIds: Set<String>, actorId: String, since: Date, until: Date, limit: Int) async throws -> [AuditEvent] {
        try await read { database in
            try await database.raw("""
                SELECT * FROM audit_events WHERE tenant_id = \(bind: tenantId)
                    AND (target_id IN (\(SQLList(targetIds.sorted().map { SQLBind($0) }))) OR actor_id = \(bind: actorId))
                    AND time >= \(bind: since.epochMilliseconds) AND time < \(bind: until.epochMilliseconds)
                ORDER BY time DESC, id LIMIT \(bind: limit)
                """).all().map(Self.auditEvent)
        }
    }

    static func tokenRevocation(_ row: any SQLRow) throws -> TokenRevocation {
        TokenRevocation(servicePrincipalId: try row.string("service_principal_id"), appId: try row.string("app_id"), revokedBefore: try row.date("revoked_before"))
    }

    static func incidents(where condition: SQLQueryString, on database: any SQLDatabase) async throws -> [Incident] {
        try await database.raw("SELECT * FROM incidents WHERE \(condition)").all().map { row in
            let releasedAt = try row.optionalDate("released_at")
            return Incident(
                id: try row.string("id"), tenantId: try row.string("tenant_id"), applicationId: try row.string("application_id"),
                servicePrincipalId: try row.string("service_principal_id"), appId: try row.string("app_id"), displayName: try row.string("display_name"),
                state: Incident.State(rawValue: try row.string("state")) ?? .released, containedAt: try row.date("contained_at"),
                containedBy: Incident.Actor(id: try row.string("contained_by_id"), displayName: try row.string("contained_by_name")),
                releasedAt: releasedAt,
                releasedBy: releasedAt == nil ? nil : Incident.Actor(id: try row.string("released_by_id"), displayName: try row.string("released_by_name")),
                wasEnabled: try row.bool("was_enabled"),
                disabledCredentials: try Self.jsonArray(row, "disabled_credentials").compactMap { item in
                    guard let kind = item.objectValue?["kind"]?.stringValue, let id = item.objectValue?["id"]?.stringValue else { return nil }
                    return Incident.Credential(kind: kind, id: id)
                },
                secrets: try Self.jsonArray(row, "secrets").compactMap { item in
                    guard let object = item.objectValue, let vaultId = object["vaultId"]?.stringValue, let vault = object["vault"]?.stringValue,
                        let name = object["name"]?.stringValue, let rotation = object["rotation"]?.stringValue.flatMap(ExposedSecret.Rotation.init)
                    else { return nil }
                    return ExposedSecret(vaultId: vaultId, vault: vault, name: name, rotation: rotation)
                })
        }
    }

    static func jsonArray(_ row: any SQLRow, _ column: String) throws -> [JSONValue] {
        (try? JSONParser.parse(Array(try row.string(column).utf8)))?.arrayValue ?? []
    }

    static func credentialJSON(_ credential: Incident.Credential) -> JSONValue {
        ["kind": .string(credential.kind), "id": .string(credential.id)]
    }

    static func secretJSON(_ secret: ExposedSecret) -> JSONValue {
        ["vaultId": .string(secret.vaultId), "vault": .string(secret.vault), "name": .string(secret.name), "rotation": .string(secret.rotation.rawValue)]
    }
}
