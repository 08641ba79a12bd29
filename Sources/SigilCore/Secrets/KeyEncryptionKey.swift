import Crypto
import Foundation

/// The key that seals private keys and the vault's data keys before they reach the store:
/// AES-256-GCM, with the key kept outside the database (a 0600 file or an environment variable).
public struct KeyEncryptionKey: Sendable {
    let key: SymmetricKey

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed
        case wrongKey
        public var description: String {
            switch self {
            case .malformed: "the key-encryption key must be 32 bytes, base64-encoded"
            case .wrongKey: "sealed data does not open with this key-encryption key (was the data folder's kek file replaced?)"
            }
        }
    }

    public init() { key = SymmetricKey(size: .bits256) }

    /// Reads the base64 text of a 256-bit key.
    public init(base64: String) throws(Failure) {
        guard let bytes = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
            throw .malformed
        }
        key = SymmetricKey(data: bytes)
    }

    public var base64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    /// A name for this key that reveals nothing of it: the first 16 hex digits of an HMAC-SHA256
    /// keyed by it. Each wrapped vault data key records it, so a rotation knows what is left to re-wrap.
    public var id: String {
        HMAC<SHA256>.authenticationCode(for: Data("sigil-kek-id".utf8), using: key).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Seals `plaintext`, binding it to `context` (for example a key id) so sealed values cannot be swapped.
    public func seal(_ plaintext: Data, context: String) throws -> String {
        try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8)).combined!.base64EncodedString()
    }

    public func open(_ sealed: String, context: String) throws(Failure) -> Data {
        guard let combined = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: combined) else { throw .wrongKey }
        guard let plaintext = try? AES.GCM.open(box, using: key, authenticating: Data(context.utf8)) else { throw .wrongKey }
        return plaintext
    }
}
