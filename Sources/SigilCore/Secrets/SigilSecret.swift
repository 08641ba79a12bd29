import Crypto
import Foundation

/// The format of every secret Sigil mints (DESIGN §7): a prefix, 40 random characters of
/// `[0-9A-Za-z]`, and a 6-character base-62 CRC32 of those 40 characters. The checksum lets the
/// scanner (and the token endpoint) recognise a Sigil secret, or a mangled copy of one, offline.
public struct SigilSecretFormat: Sendable, Hashable {
    /// The kind of secret, told apart by its prefix.
    public enum Kind: String, Sendable, CaseIterable {
        /// A client secret (password credential).
        case clientSecret = "sgs_"
        /// A host join token.
        case joinToken = "sgj_"
    }

    public static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    public static let bodyLength = 40
    public static let checksumLength = 6
    public static let totalLength = 4 + bodyLength + checksumLength

    /// Mints a new secret of `kind` from the system CSPRNG.
    public static func generate(_ kind: Kind) -> String {
        var generator = SystemRandomNumberGenerator()
        // Rejection sampling keeps every character uniformly distributed: 248 = 4 * 62.
        var body: [UInt8] = []
        body.reserveCapacity(bodyLength)
        while body.count < bodyLength {
            let byte = UInt8.random(in: 0...255, using: &generator)
            if byte < 248 { body.append(alphabet[Int(byte % 62)]) }
        }
        return kind.rawValue + String(decoding: body, as: UTF8.self) + checksum(of: body)
    }

    /// The 6-character base-62 CRC32 of `body`, most significant digit first, left-padded with `0`.
    public static func checksum(of body: some Collection<UInt8>) -> String {
        var value = UInt64(CRC32.checksum(body))
        var digits = [UInt8](repeating: alphabet[0], count: checksumLength)
        for index in stride(from: checksumLength - 1, through: 0, by: -1) {
            digits[index] = alphabet[Int(value % 62)]
            value /= 62
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// Why a string is not a well-formed Sigil secret.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case wrongPrefix
        case wrongLength(Int)
        case invalidCharacter
        case checksumMismatch

        public var description: String {
            switch self {
            case .wrongPrefix: "it does not start with a Sigil prefix (sgs_ or sgj_)"
            case .wrongLength(let length): "it is \(length) characters long, not \(SigilSecretFormat.totalLength)"
            case .invalidCharacter: "it contains characters outside [0-9A-Za-z]"
            case .checksumMismatch: "its checksum does not match (it was mistyped or truncated)"
            }
        }
    }

    /// Checks prefix, length, alphabet and checksum; returns the kind on success.
    public static func validate(_ candidate: String) -> Result<Kind, Problem> {
        let bytes = Array(candidate.utf8)
        guard bytes.count >= 4, let kind = Kind(rawValue: String(decoding: bytes[0..<4], as: UTF8.self)) else {
            return .failure(.wrongPrefix)
        }
        guard bytes.count == totalLength else { return .failure(.wrongLength(bytes.count)) }
        let rest = bytes[4...]
        guard rest.allSatisfy(isAlphanumeric) else { return .failure(.invalidCharacter) }
        let body = bytes[4..<(4 + bodyLength)]
        let given = String(decoding: bytes[(4 + bodyLength)...], as: UTF8.self)
        return checksum(of: body) == given ? .success(kind) : .failure(.checksumMismatch)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }
}

/// IEEE 802.3 CRC32 (the polynomial zlib and PNG use), table-driven.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (0xEDB8_8320 ^ (crc >> 1)) : (crc >> 1) }
        return crc
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// How a secret is kept at rest: `SHA-256(salt ‖ SHA-256(secret))` with a random 16-byte salt.
///
/// Hashing the secret's SHA-256 (rather than the secret) lets the server match a leak report,
/// which carries only `SHA-256(secret)`, without ever receiving the secret itself.
public struct SecretHash: Sendable, Hashable {
    public let salt: Data
    public let digest: Data

    public init(salt: Data, digest: Data) {
        self.salt = salt
        self.digest = digest
    }

    /// Hashes a freshly minted secret under a new random salt.
    public static func make(for secret: String) -> SecretHash {
        let salt = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
        return SecretHash(salt: salt, digest: digest(salt: salt, secretSHA256: Data(SHA256.hash(data: Data(secret.utf8)))))
    }

    static func digest(salt: Data, secretSHA256: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: secretSHA256)
        return Data(hasher.finalize())
    }

    /// Constant-time check of a presented secret.
    public func matches(secret: String) -> Bool {
        matches(secretSHA256: Data(SHA256.hash(data: Data(secret.utf8))))
    }

    /// Constant-time check of a reported `SHA-256(secret)`.
    public func matches(secretSHA256: Data) -> Bool {
        ConstantTime.equal(Self.digest(salt: salt, secretSHA256: secretSHA256), digest)
    }
}

/// Comparisons whose running time does not depend on where the inputs differ.
public enum ConstantTime {
    public static func equal(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}
