import Foundation

/// The key-encryption keys a server holds: the current one, which seals everything new, and
/// during a rotation the previous one, which still opens what has not been re-wrapped yet.
/// Vault data keys name the KEK that wrapped them (`SecretEnvelope.kekId`).
public struct KeyEncryptionKeyRing: Sendable {
    public let current: KeyEncryptionKey
    public let previous: KeyEncryptionKey?

    public init(current: KeyEncryptionKey, previous: KeyEncryptionKey? = nil) {
        self.current = current
        self.previous = previous
    }

    /// The key with this id, if the ring holds it.
    public func key(id: String) -> KeyEncryptionKey? {
        if current.id == id { return current }
        if let previous, previous.id == id { return previous }
        return nil
    }

    /// Seals a value for a new secret version under the current KEK.
    public func seal(_ value: String, context: String) throws -> SecretEnvelope {
        try SecretEnvelope.seal(value, context: context, kek: current)
    }

    /// Opens a value `KeyEncryptionKey.seal` sealed (a signing key), with the current key or else
    /// the previous one: such values do not record which key sealed them.
    public func open(_ sealed: String, context: String) throws(KeyEncryptionKey.Failure) -> Data {
        if let opened = try? current.open(sealed, context: context) { return opened }
        guard let previous else { throw .wrongKey }
        return try previous.open(sealed, context: context)
    }

    /// Re-wraps a version's data key under the current KEK (a rotation); the value is not touched.
    public func rewrap(_ envelope: SecretEnvelope, context: String) throws -> SecretEnvelope {
        guard envelope.kekId != current.id else { return envelope }
        guard let old = key(id: envelope.kekId) else { throw KeyEncryptionKey.Failure.wrongKey }
        return try envelope.rewrapped(context: context, from: old, to: current)
    }

    /// Opens a secret version with whichever KEK wrapped its data key.
    public func open(_ envelope: SecretEnvelope, context: String) throws(KeyEncryptionKey.Failure) -> String {
        guard let key = key(id: envelope.kekId) else { throw .wrongKey }
        return try envelope.open(context: context, kek: key)
    }
}
