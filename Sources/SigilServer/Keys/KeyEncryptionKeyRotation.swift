import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore
import Synchronization

/// The server's key-encryption keys. A rotation changes them while requests use them: read
/// `ring` at the moment of sealing or opening, never keep a copy.
public final class KeyEncryptionKeys: Sendable {
    private let state: Mutex<KeyEncryptionKeyRing>

    public init(_ ring: KeyEncryptionKeyRing) { state = Mutex(ring) }

    /// The keys now: `current` seals, `current` or `previous` opens.
    public var ring: KeyEncryptionKeyRing { state.withLock { $0 } }

    func replace(_ ring: KeyEncryptionKeyRing) { state.withLock { $0 = ring } }
}

/// Rotates the key-encryption key with the server running (docs/decisions.md, "Key-encryption key
/// rotation"). The new key becomes current first, so everything sealed from then on is under it,
/// while the old one still opens what is not re-wrapped yet; then the signing keys are re-sealed
/// (one transaction) and the vault's data keys re-wrapped (a batch per transaction); last,
/// `DATA/kek.new` is renamed over `DATA/kek`. The store's KEK ids and `kek.new` are the state: a
/// start that finds `kek.new` finishes the rotation (`run`).
public actor KeyEncryptionKeyRotation: Service {
    /// What a rotation did.
    public struct Outcome: Sendable {
        /// `KeyEncryptionKey.id` of the key everything is now sealed with, and of the one before.
        public let kekId: String
        public let previousKekId: String?
        public let resealedSigningKeys: Int
        public let rewrappedVersions: Int
        /// Offline with `SIGIL_KEK` and no `SIGIL_KEK_PREVIOUS`: the new key, base64, shown once
        /// for the operator to set on every replica.
        public var newEnvironmentKey: String?
    }

    public enum Failure: Error, CustomStringConvertible {
        case inProgress
        case environmentKeyNeedsPrevious
        public var description: String {
            switch self {
            case .inProgress: "a key-encryption key rotation is running already; it re-wraps everything once, so there is nothing to add"
            case .environmentKeyNeedsPrevious:
                "the key-encryption key is SIGIL_KEK, which a running server cannot change: start every replica with the new key in SIGIL_KEK "
                    + "and the old one in SIGIL_KEK_PREVIOUS, then run sigil kek rotate again to re-wrap everything under the new one (docs/operations.md)"
            }
        }
    }

    /// Data keys re-wrapped per transaction: writers queue behind a batch for a few milliseconds at most.
    static let batch = 500

    let keys: KeyEncryptionKeys
    let store: Store
    let folder: DataFolder
    let fromEnvironment: Bool
    let logger: Logger
    /// Audited as Sigil's own when a start finishes an interrupted rotation.
    let tenantId: String?
    private var running = false

    init(keys: KeyEncryptionKeys, store: Store, folder: DataFolder, fromEnvironment: Bool, logger: Logger, tenantId: String? = nil) {
        self.keys = keys
        self.store = store
        self.folder = folder
        self.fromEnvironment = fromEnvironment
        self.logger = logger
        self.tenantId = tenantId
    }

    /// Starts a rotation and finishes it. With `DATA/kek`, a new key is written to `kek.new` and
    /// becomes current. With `SIGIL_KEK`, the key cannot change here: everything is re-wrapped
    /// from `SIGIL_KEK_PREVIOUS` to `SIGIL_KEK`, refused when there is no previous key.
    func rotate() async throws -> Outcome {
        guard !running else { throw Failure.inProgress }
        running = true
        defer { running = false }
        if fromEnvironment {
            guard keys.ring.previous != nil else { throw Failure.environmentKeyNeedsPrevious }
        } else if !folder.exists(KeyEncryptionKeyFile.pendingName) {
            let new = KeyEncryptionKey()
            // On disk before anything is sealed with it: a crash from here on leaves a start that finishes the rotation.
            try folder.write(KeyEncryptionKeyFile.pendingName, new.base64 + "\n", secret: true)
            keys.replace(KeyEncryptionKeyRing(current: new, previous: keys.ring.current))
        }
        return try await rewrapEverything()
    }

    /// Finishes what the keys in the ring describe: re-seals and re-wraps everything under the
    /// current key, then renames `kek.new` over `kek`.
    func finish() async throws -> Outcome {
        guard !running else { throw Failure.inProgress }
        running = true
        defer { running = false }
        return try await rewrapEverything()
    }

    private func rewrapEverything() async throws -> Outcome {
        let ring = keys.ring
        let resealed = try await store.resealSigningKeys { kid, sealed in try ring.current.seal(try ring.open(sealed, context: kid), context: kid) }
        let subscriptionKeys = try await store.rewrapSubscriptionKeys(notWrappedBy: ring.current.id) { try ring.rewrap($0, context: $1) }
        try await store.analyzeSecretVersions()
        // Each old KEK's versions by its index; then a last pass over the rest, which must find
        // nothing: versions sealed under an old key while the batches ran are caught there.
        var rewrapped = 0
        while true {
            for old in try await store.sealedMaterial().versionsByKek.keys where old != ring.current.id {
                while case let count = try await rewrap(wrappedBy: old, ring), count > 0 { rewrapped += count }
            }
            let stragglers = try await rewrap(wrappedBy: nil, ring)
            if stragglers == 0 { break }
            rewrapped += stragglers
        }
        if !fromEnvironment, folder.exists(KeyEncryptionKeyFile.pendingName),
            rename(folder.path(KeyEncryptionKeyFile.pendingName), folder.path(KeyEncryptionKeyFile.fileName)) != 0
        {
            throw ServerError.configuration(
                "everything is re-wrapped under the new key-encryption key, but \(folder.path(KeyEncryptionKeyFile.pendingName)) could not be renamed to "
                    + "\(folder.path(KeyEncryptionKeyFile.fileName)): do it by hand")
        }
        // The old key stays in memory until the server stops: a read that fetched a version just
        // before its batch committed still opens it.
        logger.notice(
            "key-encryption key rotation finished: \(resealed) signing keys re-sealed, \(rewrapped) vault data keys and \(subscriptionKeys) webhook subscription keys re-wrapped under \(ring.current.id)")
        return Outcome(kekId: ring.current.id, previousKekId: ring.previous?.id, resealedSigningKeys: resealed, rewrappedVersions: rewrapped)
    }

    private func rewrap(wrappedBy old: String?, _ ring: KeyEncryptionKeyRing) async throws -> Int {
        try await store.rewrapSecretVersions(wrappedBy: old, notWrappedBy: ring.current.id, limit: Self.batch) { try ring.rewrap($0, context: $1) }
    }

    /// At start, finishes a rotation a crash interrupted (`DATA/kek.new` was found), audited as
    /// Sigil's own; then waits for shutdown.
    public func run() async throws {
        if !fromEnvironment, folder.exists(KeyEncryptionKeyFile.pendingName) {
            do {
                let outcome = try await finish()
                if let tenantId {
                    try await store.recordAudit(AuditEvent(
                        time: Date(), tenantId: tenantId, actorId: "sigil", actorName: "sigil", action: "keyEncryptionKey.rotate",
                        targetType: "keyEncryptionKey", targetId: outcome.kekId, after: outcome.json, ipAddress: "local", correlationId: RandomIdentifier.uuid()))
                }
            } catch {
                logger.error("finishing the interrupted key-encryption key rotation failed (the next start tries again): \(error)")
            }
        }
        try? await gracefulShutdown()
    }
}

extension KeyEncryptionKeyRotation.Outcome {
    /// What the admin API answers and the audit records: key ids and counts, never a key.
    public var json: JSONValue {
        [
            "kekId": .string(kekId), "previousKekId": previousKekId.map(JSONValue.string) ?? .null,
            "resealedSigningKeys": .integer(Int64(resealedSigningKeys)), "rewrappedVersions": .integer(Int64(rewrappedVersions)),
        ]
    }
}
