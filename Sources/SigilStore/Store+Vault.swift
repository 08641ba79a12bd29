import Foundation
import SQLKit
import SigilCore

/// A stored secret version: its properties, the sealed value and where it belongs.
public struct StoredSecretVersion: Sendable {
    /// The secret's row id, to which the version's seals are bound.
    public var secretId: String
    public var version: SecretVersion
    public var envelope: SecretEnvelope
    public var deletion: SecretDeletion?

    /// What the seals are bound to.
    public var context: String { SecretEnvelope.context(secretId: secretId, version: version.version) }
}

/// Vaults and their secrets (DESIGN §6). Every change is written with its audit event in one
/// transaction; values arrive sealed and leave sealed.
extension Store {
    // MARK: Vaults

    public func createVault(_ vault: Vault, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            do {
                try await database.raw("""
                    INSERT INTO vaults (id, tenant_id, name, retention_days, purge_protection, created_at)
                    VALUES (\(bind: vault.id), \(bind: vault.tenantId), \(bind: vault.name), \(bind: vault.retentionDays),
                        \(bind: vault.purgeProtection ? 1 : 0), \(bind: vault.createdAt.epochMilliseconds))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("A vault named '\(vault.name)' exists already; vault names are host names, unique on this server")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// A vault by its (case-insensitive) name, in any tenant: a vault's host name names it alone.
    public func vault(named name: String) async throws -> Vault? {
        try await read { database in
            try await database.raw("SELECT * FROM vaults WHERE name = \(bind: name.lowercased())").first().map(Self.vault)
        }
    }

    public func vaults(tenantId: String) async throws -> [Vault] {
        try await read { database in
            try await database.raw("SELECT * FROM vaults WHERE tenant_id = \(bind: tenantId) ORDER BY name").all().map(Self.vault)
        }
    }

    /// Changes a vault's retention or purge protection; `change` sees the stored vault and
    /// refuses what may not change.
    public func updateVault(id: String, change: (Vault) throws -> Vault, audit: (Vault, Vault) -> AuditEvent) async throws -> Vault {
        try await transaction(changesDirectory: false) { database in
            guard let before = try await database.raw("SELECT * FROM vaults WHERE id = \(bind: id)").first().map(Self.vault) else {
                throw StoreError.notFound("the vault no longer exists")
            }
            let after = try change(before)
            try await database.raw("""
                UPDATE vaults SET retention_days = \(bind: after.retentionDays), purge_protection = \(bind: after.purgeProtection ? 1 : 0)
                WHERE id = \(bind: id)
                """).run()
            try await Self.insertAudit(audit(before, after), on: database)
            return after
        }
    }

    /// Deletes an empty vault and the role assignments scoped to it. One that still holds
    /// secrets, deleted ones included, is refused: deleting it would purge them around their
    /// retention and purge protection.
    public func deleteVault(id: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let rows = try await database.raw("""
                SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END), 0) AS deleted
                FROM vault_secrets WHERE vault_id = \(bind: id)
                """).first()
            let total = try rows?.int64("total") ?? 0
            let deleted = try rows?.int64("deleted") ?? 0
            guard total == 0 else {
                throw StoreError.conflict(
                    "the vault still holds \(total - deleted) secrets and \(deleted) deleted ones; delete and purge them first (deleted secrets purge themselves when their retention ends)")
            }
            let removed = try await database.raw("DELETE FROM vaults WHERE id = \(bind: id) RETURNING id").all()
            guard !removed.isEmpty else { throw StoreError.notFound("the vault no longer exists") }
            // Assignments scoped to the vault or its secrets would otherwise outlive it.
            try await database.raw("""
                DELETE FROM directory_role_assignments WHERE scope = \(bind: RoleScope.vault(id: id).directoryScopeId)
                    OR scope LIKE \(bind: RoleScope.vault(id: id).directoryScopeId + "/secrets/%")
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    static func vault(_ row: any SQLRow) throws -> Vault {
        Vault(
            id: try row.string("id"), tenantId: try row.string("tenant_id"), name: try row.string("name"),
            retentionDays: Int(try row.int64("retention_days")), purgeProtection: try row.bool("purge_protection"), createdAt: try row.date("created_at"))
    }

    // MARK: Secrets

    /// Adds a version to the secret `name`, creating the secret on its first version. Concurrent
    /// sets of one name queue on the secret's row, so each gets the next place in order. A
    /// deleted secret's name is refused until it is recovered or purged. `seal` seals the value
    /// for the secret's row id.
    public func setSecret(
        vaultId: String, name: String, version: SecretVersion, seal: (String) throws -> SecretEnvelope, audit: AuditEvent
    ) async throws -> SecretVersion {
        try await transaction(changesDirectory: false) { database in
            let stored = try await Self.insertSecretVersion(vaultId: vaultId, name: name, version: version, seal: seal, on: database)
            try await Self.insertAudit(audit, on: database)
            return stored
        }
    }

    /// Adds a version inside a caller's transaction (`setSecret`); returns it with the secret's stored name.
    static func insertSecretVersion(
        vaultId: String, name: String, version: SecretVersion, seal: (String) throws -> SecretEnvelope, on database: any SQLDatabase
    ) async throws -> SecretVersion {
        let now = version.createdAt.epochMilliseconds
        // The upsert takes the row's lock: a second set of this name waits here until this one commits.
        guard let secret = try await database.raw("""
            INSERT INTO vault_secrets (id, vault_id, name, name_key, created_at, updated_at)
            VALUES (\(bind: RandomIdentifier.uuid()), \(bind: vaultId), \(bind: name), \(bind: name.lowercased()), \(bind: now), \(bind: now))
            ON CONFLICT (vault_id, name_key) DO UPDATE SET updated_at = excluded.updated_at
            RETURNING id, name, deleted_at
            """).first()
        else { throw StoreError.notFound("the vault no longer exists") }
        let storedName = try secret.string("name")
        guard try secret.optionalInt64("deleted_at") == nil else {
            throw StoreError.conflict(
                "Secret \(storedName) is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.")
        }
        let secretId = try secret.string("id")
        let seq = try await database.raw("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM vault_secret_versions WHERE secret_id = \(bind: secretId)")
            .first()?.int64("next") ?? 1
        let envelope = try seal(secretId)
        let properties = version.properties
        try await database.raw("""
            INSERT INTO vault_secret_versions (secret_id, version, seq, content_type, tags, enabled, not_before, expires,
                created_at, updated_at, managed, ciphertext, wrapped_key, kek_id)
            VALUES (\(bind: secretId), \(bind: version.version), \(bind: seq), \(bind: properties.contentType), \(bind: Self.tagsText(properties.tags)),
                \(bind: properties.enabled ? 1 : 0), \(bind: properties.notBefore?.epochMilliseconds), \(bind: properties.expires?.epochMilliseconds),
                \(bind: now), \(bind: now), \(bind: version.managed ? 1 : 0), \(bind: envelope.ciphertext), \(bind: envelope.wrappedKey), \(bind: envelope.kekId))
            """).run()
        try await Self.enqueueNewVersionEvents(vaultId: vaultId, secretName: storedName, version: version, on: database)
        var stored = version
        stored.secretName = storedName
        return stored
    }

    /// One version of a secret (the latest when `version` is nil), deleted secrets only when
    /// `deleted` is true and live ones only when false. A version id of another secret is not found.
    public func secretVersion(vaultId: String, name: String, version: String?, deleted: Bool = false) async throws -> StoredSecretVersion? {
        try await read { database in try await Self.version(vaultId: vaultId, name: name, version: version, deleted: deleted, on: database) }
    }

    /// The secrets of a vault with their latest version's properties, by name, after the name
    /// `after` (paging): live ones, or deleted ones when `deleted` is true.
    public func secrets(vaultId: String, deleted: Bool, after: String?, limit: Int) async throws -> [StoredSecretVersion] {
        try await read { database in
            try await database.raw("""
                \(unsafeRaw: Self.selectVersions) AND v.seq = (SELECT MAX(seq) FROM vault_secret_versions WHERE secret_id = s.id)
                WHERE s.vault_id = \(bind: vaultId) AND s.deleted_at IS \(unsafeRaw: deleted ? "NOT NULL" : "NULL")
                    AND s.name_key > \(bind: after?.lowercased() ?? "")
                ORDER BY s.name_key LIMIT \(bind: limit)
                """).all().map(Self.storedVersion)
        }
    }

    /// A live secret's versions in the order they were set, after the `after`-th (paging); nil
    /// when there is no such live secret.
    public func secretVersions(vaultId: String, name: String, after: Int64, limit: Int) async throws -> [StoredSecretVersion]? {
        try await read { database in
            guard let secret = try await database.raw("""
                SELECT id FROM vault_secrets WHERE vault_id = \(bind: vaultId) AND name_key = \(bind: name.lowercased()) AND deleted_at IS NULL
                """).first()
            else { return nil }
            return try await database.raw("""
                \(unsafeRaw: Self.selectVersions)
                WHERE s.id = \(bind: try secret.string("id")) AND v.seq > \(bind: after) ORDER BY v.seq LIMIT \(bind: limit)
                """).all().map(Self.storedVersion)
        }
    }

    /// Changes one version's properties (the latest when `version` is nil); `change` sees the
    /// stored properties and returns the new ones.
    public func updateSecretVersion(
        vaultId: String, name: String, version: String?, at now: Date, change: (SecretProperties) throws -> SecretProperties,
        audit: (SecretVersion, SecretVersion) -> AuditEvent
    ) async throws -> SecretVersion {
        try await transaction(changesDirectory: false) { database in
            guard let stored = try await Self.version(vaultId: vaultId, name: name, version: version, deleted: false, on: database) else {
                throw StoreError.notFound(VaultRules.notFound(name, version))
            }
            let properties = try change(stored.version.properties)
            try await database.raw("""
                UPDATE vault_secret_versions SET content_type = \(bind: properties.contentType), tags = \(bind: Self.tagsText(properties.tags)),
                    enabled = \(bind: properties.enabled ? 1 : 0), not_before = \(bind: properties.notBefore?.epochMilliseconds),
                    expires = \(bind: properties.expires?.epochMilliseconds), updated_at = \(bind: now.epochMilliseconds)
                WHERE secret_id = \(bind: stored.secretId) AND version = \(bind: stored.version.version)
                """).run()
            var after = stored.version
            after.properties = properties
            after.updatedAt = now
            try await Self.insertAudit(audit(stored.version, after), on: database)
            return after
        }
    }

    /// Soft-deletes a secret: every version stays, recoverable until `purgeAt`.
    public func deleteSecret(vaultId: String, name: String, at now: Date, purgeAt: Date, audit: (SecretVersion) -> AuditEvent) async throws -> StoredSecretVersion {
        try await transaction(changesDirectory: false) { database in
            guard var latest = try await Self.version(vaultId: vaultId, name: name, version: nil, deleted: false, on: database) else {
                throw StoreError.notFound(VaultRules.notFound(name, nil))
            }
            // Conditional, so a delete racing another delete or a purge changes nothing twice.
            let changed = try await database.raw("""
                UPDATE vault_secrets SET deleted_at = \(bind: now.epochMilliseconds), scheduled_purge_at = \(bind: purgeAt.epochMilliseconds)
                WHERE id = \(bind: latest.secretId) AND deleted_at IS NULL RETURNING id
                """).all()
            guard !changed.isEmpty else { throw StoreError.notFound(VaultRules.notFound(name, nil)) }
            try await Self.insertAudit(audit(latest.version), on: database)
            latest.deletion = SecretDeletion(deletedAt: now, scheduledPurgeAt: purgeAt)
            return latest
        }
    }

    /// Brings a deleted secret back with all its versions.
    public func recoverSecret(vaultId: String, name: String, audit: (SecretVersion) -> AuditEvent) async throws -> StoredSecretVersion {
        try await transaction(changesDirectory: false) { database in
            guard var latest = try await Self.version(vaultId: vaultId, name: name, version: nil, deleted: true, on: database) else {
                throw StoreError.notFound("Secret not found: \(name)")
            }
            // Conditional: a purge that committed first leaves nothing to recover.
            let changed = try await database.raw("""
                UPDATE vault_secrets SET deleted_at = NULL, scheduled_purge_at = NULL WHERE id = \(bind: latest.secretId) AND deleted_at IS NOT NULL
                RETURNING id
                """).all()
            guard !changed.isEmpty else { throw StoreError.notFound("Secret not found: \(name)") }
            try await Self.insertAudit(audit(latest.version), on: database)
            latest.deletion = nil
            return latest
        }
    }

    /// Removes a deleted secret and every version for good (the caller has checked purge protection).
    public func purgeSecret(vaultId: String, name: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let removed = try await database.raw("""
                DELETE FROM vault_secrets WHERE vault_id = \(bind: vaultId) AND name_key = \(bind: name.lowercased()) AND deleted_at IS NOT NULL
                RETURNING id
                """).all()
            guard !removed.isEmpty else { throw StoreError.notFound("Secret not found: \(name)") }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Purges deleted secrets whose retention has ended, at most `limit` at a time, each with its
    /// audit event (`audit` gets the vault and the secret's name) in the one transaction; returns
    /// how many went.
    public func purgeDueSecrets(now: Date, limit: Int, audit: (_ vault: Vault, _ name: String) -> AuditEvent) async throws -> Int {
        try await transaction(changesDirectory: false) { database in
            let due = try await database.raw("""
                SELECT s.id AS secret_id, s.name AS secret_name, v.* FROM vault_secrets s JOIN vaults v ON v.id = s.vault_id
                WHERE s.scheduled_purge_at IS NOT NULL AND s.scheduled_purge_at <= \(bind: now.epochMilliseconds)
                ORDER BY s.scheduled_purge_at LIMIT \(bind: limit)
                """).all()
            var purged = 0
            for row in due {
                // Still deleted and due: a recover may have committed since the select (PostgreSQL).
                let removed = try await database.raw("""
                    DELETE FROM vault_secrets WHERE id = \(bind: try row.string("secret_id"))
                        AND scheduled_purge_at IS NOT NULL AND scheduled_purge_at <= \(bind: now.epochMilliseconds)
                    RETURNING id
                    """).all()
                guard !removed.isEmpty else { continue }
                try await Self.insertAudit(audit(try Self.vault(row), try row.string("secret_name")), on: database)
                purged += 1
            }
            return purged
        }
    }

    /// What every version query reads: the secret's row beside each of its versions.
    static let selectVersions = """
        SELECT s.id AS secret_id, s.name, s.deleted_at, s.scheduled_purge_at, v.* FROM vault_secrets s
        JOIN vault_secret_versions v ON v.secret_id = s.id
        """

    /// One version of the secret `name` (the latest when `version` is nil), among its deleted
    /// secrets or its live ones.
    static func version(vaultId: String, name: String, version: String?, deleted: Bool, on database: any SQLDatabase) async throws -> StoredSecretVersion? {
        let which: SQLQueryString = version.map { "AND v.version = \(bind: $0)" } ?? "ORDER BY v.seq DESC LIMIT 1"
        return try await database.raw("""
            \(unsafeRaw: selectVersions)
            WHERE s.vault_id = \(bind: vaultId) AND s.name_key = \(bind: name.lowercased()) AND s.deleted_at IS \(unsafeRaw: deleted ? "NOT NULL" : "NULL") \(which)
            """).first().map(storedVersion)
    }

    static func tagsText(_ tags: [String: String]) -> String {
        JSONValue.object(tags.mapValues(JSONValue.string)).serialized()
    }

    static func storedVersion(_ row: any SQLRow) throws -> StoredSecretVersion {
        let tags = (try? JSONParser.parseObject(Array(try row.string("tags").utf8)))?.compactMapValues(\.stringValue) ?? [:]
        let properties = SecretProperties(
            contentType: try row.optionalString("content_type"), tags: tags, enabled: try row.bool("enabled"),
            notBefore: try row.optionalDate("not_before"), expires: try row.optionalDate("expires"))
        let deletion = try row.optionalDate("deleted_at").map { SecretDeletion(deletedAt: $0, scheduledPurgeAt: try row.date("scheduled_purge_at")) }
        return StoredSecretVersion(
            secretId: try row.string("secret_id"),
            version: SecretVersion(
                secretName: try row.string("name"), version: try row.string("version"), properties: properties,
                createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"), managed: try row.bool("managed")),
            envelope: SecretEnvelope(ciphertext: try row.string("ciphertext"), wrappedKey: try row.string("wrapped_key"), kekId: try row.string("kek_id")),
            deletion: deletion)
    }
}
