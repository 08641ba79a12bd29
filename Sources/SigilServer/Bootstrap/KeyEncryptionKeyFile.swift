import Foundation
import Logging
import SigilCore
import SigilStore

/// Where the key-encryption key lives. The KEK seals the signing keys' private halves and wraps
/// the vault's data keys in the store. It is `SIGIL_KEK` (base64) when set, else `DATA/kek`,
/// created 0600 on the first start of an empty store: a development default, since a copy of the
/// data folder then holds both the sealed keys and the key that opens them. Replicas sharing a
/// PostgreSQL store must share it.
public enum KeyEncryptionKeyFile {
    static let fileName = "kek"
    /// A rotation writes the new key here before it re-wraps anything, and renames it over `kek`
    /// once nothing is left under the old one; a start that finds it finishes the rotation.
    static let pendingName = "kek.new"

    /// The keys a server or an offline rotation runs with, checked against the store.
    struct Opened: Sendable {
        var ring: KeyEncryptionKeyRing
        /// `DATA/kek.new` exists: a rotation was interrupted and is finished before anything else.
        var pendingRotation: Bool
        /// The key of a first start, not written yet: `persist` writes it once the store is migrated.
        var generated: KeyEncryptionKey?

        func persist(in folder: DataFolder) throws {
            if let generated { try folder.write(fileName, generated.base64 + "\n", secret: true) }
        }
    }

    /// Reads the keys (`SIGIL_KEK` and `SIGIL_KEK_PREVIOUS`, else `DATA/kek.new` and `DATA/kek`)
    /// and checks that they open everything sealed in the store: every signing key, and every
    /// KEK id the vault's versions name. Writes nothing, so a refusal leaves the folder and the
    /// store as they were. A store with nothing sealed in it and no key gets a new one.
    static func open(_ folder: DataFolder, environment: ServerConfiguration.EnvironmentKeys?, store: Store) async throws -> Opened {
        let material = try await store.sealedMaterial()
        let opened: Opened
        if let environment {
            let current = try key(environment.current, named: "SIGIL_KEK")
            let previous = try environment.previous.map { try key($0, named: "SIGIL_KEK_PREVIOUS") }
            opened = Opened(ring: KeyEncryptionKeyRing(current: current, previous: previous), pendingRotation: false)
        } else if folder.exists(pendingName) {
            let current = try key(try folder.read(pendingName), named: folder.path(pendingName))
            let previous = folder.exists(fileName) ? try key(try folder.read(fileName), named: folder.path(fileName)) : nil
            opened = Opened(ring: KeyEncryptionKeyRing(current: current, previous: previous), pendingRotation: true)
        } else if folder.exists(fileName) {
            opened = Opened(ring: KeyEncryptionKeyRing(current: try key(try folder.read(fileName), named: folder.path(fileName))), pendingRotation: false)
        } else {
            guard material.isEmpty else {
                throw ServerError.configuration(
                    "the store holds \(describe(material)) sealed under a key-encryption key, but there is none: SIGIL_KEK is not set and "
                        + "\(folder.path(fileName)) does not exist. Restore \(folder.path(fileName)) from the backup of this data folder, or set SIGIL_KEK "
                        + "to the key the store was sealed with; nothing was changed")
            }
            let generated = KeyEncryptionKey()
            return Opened(ring: KeyEncryptionKeyRing(current: generated), pendingRotation: false, generated: generated)
        }
        try check(opened.ring, opens: material, source: environment == nil ? folder.path(fileName) : "SIGIL_KEK")
        return opened
    }

    private static func key(_ text: String, named name: String) throws -> KeyEncryptionKey {
        do {
            return try KeyEncryptionKey(base64: text)
        } catch {
            throw ServerError.configuration("\(name): \(error); nothing was changed")
        }
    }

    private static func check(_ ring: KeyEncryptionKeyRing, opens material: SealedMaterial, source: String) throws {
        let fix = source == "SIGIL_KEK"
            ? "set SIGIL_KEK to the key the store was sealed with (during a rotation, the old one in SIGIL_KEK_PREVIOUS)"
            : "restore \(source) from the backup of this data folder, or set SIGIL_KEK to the key the store was sealed with"
        let unopened = material.signingKeys.filter { (try? ring.open($0.sealedPrivateKey, context: $0.kid)) == nil }
        if !unopened.isEmpty {
            throw ServerError.configuration(
                "\(unopened.count) of the store's \(material.signingKeys.count) signing keys do not open with this key-encryption key (\(source)): "
                    + "\(KeyEncryptionKey.Failure.wrongKey). \(fix.prefix(1).uppercased() + fix.dropFirst()); nothing was changed")
        }
        for (wrapped, what) in [(material.versionsByKek, "vault secret versions"), (material.subscriptionKeysByKek, "vault event subscription keys")] {
            let unknown = wrapped.filter { ring.key(id: $0.key) == nil }
            guard !unknown.isEmpty else { continue }
            throw ServerError.configuration(
                "\(unknown.values.reduce(0, +)) \(what) are wrapped by key-encryption key \(unknown.keys.sorted().joined(separator: ", ")), "
                    + "which \(source) is not (it is \(ring.current.id)\(ring.previous.map { " and \($0.id)" } ?? "")). "
                    + "\(fix.prefix(1).uppercased() + fix.dropFirst()); nothing was changed")
        }
    }

    private static func describe(_ material: SealedMaterial) -> String {
        let versions = material.versionsByKek.values.reduce(0, +)
        let subscriptions = material.subscriptionKeysByKek.values.reduce(0, +)
        let parts = ["\(material.signingKeys.count) signing keys"] + (versions > 0 ? ["\(versions) vault secret versions"] : [])
            + (subscriptions > 0 ? ["\(subscriptions) vault event subscription keys"] : [])
        return parts.count == 1 ? parts[0] : parts.dropLast().joined(separator: ", ") + " and " + parts.last!
    }

    /// Rotates the key-encryption key with the server stopped (on SQLite the store's lock refuses
    /// a running server; on PostgreSQL stop every replica first, or rotate online instead): the
    /// same re-wrap a running server does, on a store opened here.
    public static func rotate(dataPath: String, database: String?, environment: ServerConfiguration.EnvironmentKeys?, logger: Logger) async throws
        -> KeyEncryptionKeyRotation.Outcome
    {
        let folder = try DataFolder(path: dataPath)
        guard environment != nil || folder.exists(fileName) || folder.exists(pendingName) else {
            throw ServerError.configuration("there is no key-encryption key to rotate: neither SIGIL_KEK nor \(folder.path(fileName)) exists")
        }
        let store = try await Store.open(StoreLocation(argument: database ?? folder.path("sigil.sqlite")), logger: logger, migrating: false)
        do {
            let opened = try await open(folder, environment: environment, store: store)
            try await store.migrate()
            var ring = opened.ring
            var newEnvironmentKey: String?
            if environment != nil, ring.previous == nil {
                // Offline, SIGIL_KEK is replaced by a new key the operator sets everywhere.
                let new = KeyEncryptionKey()
                ring = KeyEncryptionKeyRing(current: new, previous: ring.current)
                newEnvironmentKey = new.base64
            }
            let rotation = KeyEncryptionKeyRotation(
                keys: KeyEncryptionKeys(ring), store: store, folder: folder, fromEnvironment: environment != nil, logger: logger)
            var outcome = opened.pendingRotation || environment != nil ? try await rotation.finish() : try await rotation.rotate()
            outcome.newEnvironmentKey = newEnvironmentKey
            await store.close()
            return outcome
        } catch {
            await store.close()
            throw error
        }
    }
}
