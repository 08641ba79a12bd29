import Crypto
import Foundation

/// Envelope encryption of one secret version (DESIGN §6): the value is sealed with a data key of
/// its own under AES-256-GCM, and the data key is sealed (wrapped) by the key-encryption key.
/// Both seals are bound to the version's identity, so a sealed value or wrapped key copied onto
/// another row does not open there.
public struct SecretEnvelope: Sendable, Equatable {
    /// The value sealed with the data key: base64 of nonce, ciphertext and tag.
    public var ciphertext: String
    /// The data key sealed by the KEK.
    public var wrappedKey: String
    /// Which KEK wrapped the data key (`KeyEncryptionKey.id`).
    public var kekId: String

    public init(ciphertext: String, wrappedKey: String, kekId: String) {
        self.ciphertext = ciphertext
        self.wrappedKey = wrappedKey
        self.kekId = kekId
    }

    /// What a version's seals are bound to: the secret's row and the version id.
    public static func context(secretId: String, version: String) -> String { "vault-secret:\(secretId)/\(version)" }

    /// Seals `value` under a fresh data key wrapped by `kek`.
    public static func seal(_ value: String, context: String, kek: KeyEncryptionKey) throws -> SecretEnvelope {
        let dataKey = SymmetricKey(size: .bits256)
        let sealed = try AES.GCM.seal(Data(value.utf8), using: dataKey, authenticating: Data(context.utf8))
        let rawKey = dataKey.withUnsafeBytes { Data($0) }
        return SecretEnvelope(
            ciphertext: sealed.combined!.base64EncodedString(), wrappedKey: try kek.seal(rawKey, context: context), kekId: kek.id)
    }

    /// Opens the value with the data key `kek` unwraps.
    public func open(context: String, kek: KeyEncryptionKey) throws(KeyEncryptionKey.Failure) -> String {
        let rawKey = try kek.open(wrappedKey, context: context)
        guard rawKey.count == 32, let combined = Data(base64Encoded: ciphertext), let box = try? AES.GCM.SealedBox(combined: combined),
            let plaintext = try? AES.GCM.open(box, using: SymmetricKey(data: rawKey), authenticating: Data(context.utf8))
        else { throw .wrongKey }
        return String(decoding: plaintext, as: UTF8.self)
    }

    /// The same value under the same data key, its data key wrapped by `new` instead of `old`:
    /// what a KEK rotation writes. The value itself is not touched.
    public func rewrapped(context: String, from old: KeyEncryptionKey, to new: KeyEncryptionKey) throws -> SecretEnvelope {
        SecretEnvelope(ciphertext: ciphertext, wrappedKey: try new.seal(try old.open(wrappedKey, context: context), context: context), kekId: new.id)
    }
}
