import Foundation
import Logging
import SigilCore
import SigilStore

/// Where the key-encryption key lives, and its rotation. The KEK seals the signing keys' private
/// halves in the store. It is `SIGIL_KEK` (base64) when set, else `DATA/kek`, created 0600 on first
/// start: a development default, since a copy of the data folder then holds both the sealed keys
/// and the key that opens them. Replicas sharing a PostgreSQL store must share it.
public enum KeyEncryptionKeyFile {
    static let fileName = "kek"
    /// A rotation writes the new key here first and renames it over `kek` once the store is
    /// re-sealed; a start that finds it finishes or discards an interrupted rotation.
    static let pendingName = "kek.new"

    /// The KEK to run with, creating `DATA/kek` on first start.
    static func load(_ folder: DataFolder, store: Store) async throws -> KeyEncryptionKey {
        if let text = ProcessInfo.processInfo.environment["SIGIL_KEK"] { return try KeyEncryptionKey(base64: text) }
        if folder.exists(pendingName) { try await settleInterruptedRotation(folder, store: store) }
        if folder.exists(fileName) { return try KeyEncryptionKey(base64: try folder.read(fileName)) }
        let key = KeyEncryptionKey()
        try folder.write(fileName, key.base64 + "\n", secret: true)
        return key
    }

    /// `kek.new` next to `kek`: the rotation stopped before the rename. Whichever key opens the
    /// stored signing keys is the one in force.
    private static func settleInterruptedRotation(_ folder: DataFolder, store: Store) async throws {
        let pending = try KeyEncryptionKey(base64: try folder.read(pendingName))
        guard let sample = try await store.signingKeys().first, (try? pending.open(sample.sealedPrivateKey, context: sample.kid)) != nil else {
            try FileManager.default.removeItem(atPath: folder.path(pendingName))
            return
        }
        guard rename(folder.path(pendingName), folder.path(fileName)) == 0 else {
            throw ServerError.configuration("cannot finish the interrupted KEK rotation: rename \(folder.path(pendingName)) to \(folder.path(fileName)) by hand")
        }
    }

    /// What a rotation did.
    public struct Rotation: Sendable {
        /// Signing keys re-sealed.
        public let resealed: Int
        /// The new key, base64, when the old one came from `SIGIL_KEK`: the caller shows it once
        /// and the operator sets it on every replica. Nil when `DATA/kek` was replaced.
        public let newEnvironmentKey: String?
    }

    /// Re-seals every signing key with a new KEK, with the server stopped (on SQLite the store's
    /// lock refuses a running server; on PostgreSQL stop every replica first).
    public static func rotate(dataPath: String, database: String?, logger: Logger) async throws -> Rotation {
        let folder = try DataFolder(path: dataPath)
        let fromEnvironment = ProcessInfo.processInfo.environment["SIGIL_KEK"]
        guard fromEnvironment != nil || folder.exists(fileName) else {
            throw ServerError.configuration("there is no key-encryption key to rotate: neither SIGIL_KEK nor \(folder.path(fileName)) exists")
        }
        let store = try await Store.open(StoreLocation(argument: database ?? folder.path("sigil.sqlite")), logger: logger)
        let rotation: Rotation
        do {
            let old = try await load(folder, store: store)
            let new = KeyEncryptionKey()
            if fromEnvironment == nil { try folder.write(pendingName, new.base64 + "\n", secret: true) }
            let count = try await store.resealSigningKeys { kid, sealed in try new.seal(try old.open(sealed, context: kid), context: kid) }
            if fromEnvironment == nil, rename(folder.path(pendingName), folder.path(fileName)) != 0 {
                throw ServerError.configuration("the store is re-sealed, but \(folder.path(pendingName)) could not be renamed to \(folder.path(fileName)): do it by hand")
            }
            rotation = Rotation(resealed: count, newEnvironmentKey: fromEnvironment == nil ? nil : new.base64)
        } catch {
            // The pending key stays only if the store was re-sealed with it.
            if fromEnvironment == nil, folder.exists(pendingName) { try? await settleInterruptedRotation(folder, store: store) }
            await store.close()
            throw error
        }
        await store.close()
        return rotation
    }
}
