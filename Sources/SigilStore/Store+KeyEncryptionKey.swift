import Foundation
import SQLKit
import SigilCore

/// What the store holds under the key-encryption key: the sealed signing keys, and how many vault
/// secret versions and vault event subscription keys each KEK (by `KeyEncryptionKey.id`) wraps.
public struct SealedMaterial: Sendable {
    public var signingKeys: [StoredSigningKey]
    public var versionsByKek: [String: Int]
    public var subscriptionKeysByKek: [String: Int]

    public var isEmpty: Bool { signingKeys.isEmpty && versionsByKek.isEmpty && subscriptionKeysByKek.isEmpty }
}

/// The key-encryption key's view of the store: what a start checks before it changes anything,
/// and what a rotation re-wraps.
extension Store {
    /// What is sealed in the store, read without changing anything: it may be called before the
    /// migrations run, on a store that is empty or older than the vault.
    public func sealedMaterial() async throws -> SealedMaterial {
        var material = SealedMaterial(signingKeys: [], versionsByKek: [:], subscriptionKeysByKek: [:])
        if try await tableExists("signing_keys") { material.signingKeys = try await signingKeys() }
        if try await tableExists("vault_secret_versions") { material.versionsByKek = try await countByKek("vault_secret_versions") }
        if try await tableExists("vault_event_subscriptions") { material.subscriptionKeysByKek = try await countByKek("vault_event_subscriptions") }
        if try await tableExists("alert_subscriptions") {
            material.subscriptionKeysByKek.merge(try await countByKek("alert_subscriptions"), uniquingKeysWith: +)
        }
        return material
    }

    private func countByKek(_ table: String) async throws -> [String: Int] {
        let rows = try await read { database in
            try await database.raw("SELECT kek_id, COUNT(*) AS wrapped FROM \(unsafeRaw: table) GROUP BY kek_id").all()
                .map { (try $0.string("kek_id"), Int(try $0.int64("wrapped"))) }
        }
        return Dictionary(rows, uniquingKeysWith: +)
    }

    /// On PostgreSQL, refreshes the planner's statistics of the versions table before a re-wrap:
    /// without them (a table just loaded) each batch's update scans the KEK id index per row, and a
    /// rotation of 100,000 versions took minutes instead of seconds. SQLite needs nothing.
    public func analyzeSecretVersions() async throws {
        guard dialect == .postgres else { return }
        try await read { database in try await database.raw("ANALYZE vault_secret_versions").run() }
    }

    /// Re-wraps every webhook subscription's signing key (vault events and alerts) not wrapped by
    /// `kekId`, in one transaction (a vault or tenant has at most a few dozen); returns how many.
    public func rewrapSubscriptionKeys(
        notWrappedBy kekId: String, _ rewrap: (_ envelope: SecretEnvelope, _ context: String) throws -> SecretEnvelope
    ) async throws -> Int {
        try await transaction(changesDirectory: false) { database in
            var count = 0
            for outbox in WebhookOutbox.allCases {
                let rows = try await database.raw("""
                    SELECT id, key_ciphertext, key_wrapped, kek_id FROM \(outbox.subscriptions) WHERE kek_id <> \(bind: kekId)\(unsafeRaw: dialect == .postgres ? " FOR UPDATE" : "")
                    """).all()
                for row in rows {
                    let id = try row.string("id")
                    let rewrapped = try rewrap(try Self.sealedKey(row), outbox.keyContext(subscriptionId: id))
                    try await database.raw("""
                        UPDATE \(outbox.subscriptions) SET key_wrapped = \(bind: rewrapped.wrappedKey), kek_id = \(bind: rewrapped.kekId) WHERE id = \(bind: id)
                        """).run()
                }
                count += rows.count
            }
            return count
        }
    }

    private func tableExists(_ name: String) async throws -> Bool {
        try await read { database in
            let query: SQLQueryString = dialect == .sqlite
                ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name = \(bind: name)"
                : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = \(bind: name)"
            return try await database.raw(query).first() != nil
        }
    }

    /// Re-wraps the data keys of up to `limit` secret versions wrapped by `old` (found by the KEK
    /// id index), or with `old` nil by any key but `kekId` (a scan: the last pass), in one
    /// transaction; returns how many. `rewrap` gets a version's envelope and the context its
    /// seals are bound to. A version changed meanwhile (purged, or re-wrapped by another
    /// replica) is left alone. On PostgreSQL the batch first waits for the versions being
    /// written to commit (and holds new ones back until it commits), so a last pass that finds
    /// nothing has seen every version written before it.
    public func rewrapSecretVersions(
        wrappedBy old: String?, notWrappedBy kekId: String, limit: Int,
        _ rewrap: (_ envelope: SecretEnvelope, _ context: String) throws -> SecretEnvelope
    ) async throws -> Int {
        try await transaction(changesDirectory: false) { database in
            if dialect == .postgres {
                // Self-exclusive, and exclusive of writers: SQLite's writers queue behind the batch already.
                try await database.raw("LOCK TABLE vault_secret_versions IN SHARE ROW EXCLUSIVE MODE").run()
            }
            let which: SQLQueryString = old.map { "kek_id = \(bind: $0)" } ?? "kek_id <> \(bind: kekId)"
            let rows = try await database.raw("""
                SELECT secret_id, version, ciphertext, wrapped_key, kek_id FROM vault_secret_versions WHERE \(which) LIMIT \(bind: limit)
                """).all()
            guard !rows.isEmpty else { return 0 }
            var updates: [SQLQueryString] = []
            for row in rows {
                let secretId = try row.string("secret_id")
                let version = try row.string("version")
                let envelope = SecretEnvelope(ciphertext: try row.string("ciphertext"), wrappedKey: try row.string("wrapped_key"), kekId: try row.string("kek_id"))
                let rewrapped = try rewrap(envelope, SecretEnvelope.context(secretId: secretId, version: version))
                updates.append("(\(bind: secretId), \(bind: version), \(bind: envelope.kekId), \(bind: rewrapped.wrappedKey), \(bind: rewrapped.kekId))")
            }
            // One statement for the batch: a round trip per version made PostgreSQL ten times slower.
            try await database.raw("""
                WITH rewrapped (secret_id, version, old_kek_id, wrapped_key, kek_id) AS (VALUES \(updates.joined(separator: ", ")))
                UPDATE vault_secret_versions SET wrapped_key = rewrapped.wrapped_key, kek_id = rewrapped.kek_id FROM rewrapped
                WHERE vault_secret_versions.secret_id = rewrapped.secret_id AND vault_secret_versions.version = rewrapped.version
                    AND vault_secret_versions.kek_id = rewrapped.old_kek_id
                """).run()
            return rows.count
        }
    }
}
