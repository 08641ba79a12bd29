import Foundation
import SigilCore
import Synchronization

/// The host's current signing key and the kid the server knows it by. Key rotation swaps both
/// at once, so no assertion is ever signed with one key under the other's kid.
public final class HostKey: Sendable {
    /// A key and its registered kid.
    public struct Current: Sendable {
        public let key: SigningKey
        public let kid: String
    }

    private let current: Mutex<Current>

    public init(key: SigningKey, kid: String) { current = Mutex(Current(key: key, kid: kid)) }

    public var value: Current { current.withLock { $0 } }

    func replace(with key: SigningKey, kid: String) { current.withLock { $0 = Current(key: key, kid: kid) } }

    /// A fresh P-256 key and the kid the agent proposes for it (its RFC 7638 thumbprint).
    static func generate() -> (key: SigningKey, kid: String) {
        let key = SigningKey.p256(.init())
        return (key, key.publicKey.thumbprint)
    }

    /// The public JWK the server registers: key members plus `kid`.
    static func publicJWK(_ key: SigningKey, kid: String) -> JSONValue {
        var members = key.publicKey.jwkMembers
        members["kid"] = .string(kid)
        return .object(members)
    }

    /// A short-lived ES256 assertion: iss = sub = `subject`, `aud`, iat, nbf, exp = now + 5 minutes
    /// and a fresh jti, plus `extra` claims.
    func assertion(subject: String, audience: String, extra: [String: JSONValue] = [:], now: Date = Date()) throws -> String {
        let seconds = Int64(now.timeIntervalSince1970)
        var claims = extra
        claims["iss"] = .string(subject)
        claims["sub"] = .string(subject)
        claims["aud"] = .string(audience)
        claims["iat"] = .integer(seconds)
        claims["nbf"] = .integer(seconds)
        claims["exp"] = .integer(seconds + 300)
        claims["jti"] = .string(RandomIdentifier.uuid())
        let current = value
        return try CompactJWS.sign(claims: claims, with: current.key, kid: current.kid)
    }
}
