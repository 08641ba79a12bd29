import Crypto
import _CryptoExtras
import Foundation

/// A public key that checks JWS signatures. The algorithms it accepts follow from the key type:
/// P-256 keys verify ES256 only, RSA keys (2048 bits or more) RS256 and PS256, Ed25519 keys EdDSA.
public enum VerificationKey: Sendable {
    case p256(P256.Signing.PublicKey)
    case rsa(_RSA.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    public var algorithms: Set<JWSAlgorithm> {
        switch self {
        case .p256: [.es256]
        case .rsa: [.rs256, .ps256]
        case .ed25519: [.edDSA]
        }
    }

    /// "EC P-256", "RSA" or "Ed25519", for error messages.
    public var kindName: String {
        switch self {
        case .p256: "EC P-256"
        case .rsa: "RSA"
        case .ed25519: "Ed25519"
        }
    }

    func isValidSignature(_ signature: Data, for input: Data, algorithm: JWSAlgorithm) -> Bool {
        switch (self, algorithm) {
        case (.p256(let key), .es256):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA256.hash(data: input))
        case (.rsa(let key), .rs256):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
        case (.rsa(let key), .ps256):
            return key.isValidSignature(.init(rawRepresentation: signature), for: SHA256.hash(data: input), padding: .PSS)
        case (.ed25519(let key), .edDSA):
            return signature.count == 64 && key.isValidSignature(signature, for: input)
        default:
            return false
        }
    }

    /// The RFC 7517 members of this public key (`kty` and its parameters).
    public var jwkMembers: [String: JSONValue] {
        switch self {
        case .p256(let key):
            let raw = key.x963Representation  // 0x04 ‖ X ‖ Y
            return [
                "kty": "EC", "crv": "P-256",
                "x": .string(Base64URL.encode(raw[1..<33])), "y": .string(Base64URL.encode(raw[33..<65])),
            ]
        case .rsa(let key):
            // getKeyPrimitives cannot fail for a key that was parsed successfully.
            let primitives = try! key.getKeyPrimitives()
            return [
                "kty": "RSA",
                "n": .string(Base64URL.encode(primitives.modulus.drop(while: { $0 == 0 }))),
                "e": .string(Base64URL.encode(primitives.publicExponent.drop(while: { $0 == 0 }))),
            ]
        case .ed25519(let key):
            return ["kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(key.rawRepresentation))]
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url), a stable identifier for a bare key.
    public var thumbprint: String {
        let members = jwkMembers
        let required: [String] =
            switch members["kty"] {
            case "EC": ["crv", "kty", "x", "y"]
            case "OKP": ["crv", "kty", "x"]
            default: ["e", "kty", "n"]
            }
        let canonical = JSONValue.object(members.filter { required.contains($0.key) }).serialized()
        return Base64URL.encode(SHA256.hash(data: Data(canonical.utf8)))
    }

    /// Reads a public JWK. Private members (`d`, `p`, `q`…) are refused: a private key must never
    /// be sent to the server.
    public init(jwk: [String: JSONValue]) throws(JWSError) {
        for privateMember in ["d", "p", "q", "dp", "dq", "qi", "k"] where jwk[privateMember] != nil {
            throw JWSError("the JWK contains the private member '\(privateMember)'; register the public key only")
        }
        guard let kty = jwk["kty"]?.stringValue else { throw JWSError("the JWK has no 'kty'") }
        switch kty {
        case "EC":
            guard jwk["crv"]?.stringValue == "P-256" else { throw JWSError("only EC keys on curve P-256 are accepted") }
            guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode), x.count == 32,
                let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode), y.count == 32
            else { throw JWSError("the JWK's 'x' and 'y' must be 32-byte base64url values") }
            do {
                self = .p256(try P256.Signing.PublicKey(x963Representation: [0x04] + x + y))
            } catch {
                throw JWSError("the JWK's point is not on curve P-256")
            }
        case "RSA":
            guard let n = jwk["n"]?.stringValue.flatMap(Base64URL.decode), !n.isEmpty,
                let e = jwk["e"]?.stringValue.flatMap(Base64URL.decode), !e.isEmpty
            else { throw JWSError("the JWK's 'n' and 'e' must be base64url values") }
            do {
                self = .rsa(try _RSA.Signing.PublicKey(n: n, e: e))
            } catch {
                throw JWSError("the RSA key is invalid or shorter than 2048 bits")
            }
        case "OKP":
            guard jwk["crv"]?.stringValue == "Ed25519" else { throw JWSError("only OKP keys on curve Ed25519 are accepted") }
            guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode), x.count == 32 else {
                throw JWSError("the JWK's 'x' must be a 32-byte base64url value")
            }
            do {
                self = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: x))
            } catch {
                throw JWSError("the JWK's 'x' is not an Ed25519 public key")
            }
        default:
            throw JWSError("kty '\(kty)' is not accepted; use EC (P-256), RSA or OKP (Ed25519)")
        }
    }
}

/// A private key Sigil signs with: its own token-signing keys, an agent's or the admin CLI's key.
public enum SigningKey: Sendable {
    case p256(P256.Signing.PrivateKey)
    case rsa(_RSA.Signing.PrivateKey)

    /// A fresh key for `algorithm` (ES256 → P-256, RS256/PS256 → RSA 2048).
    public static func generate(for algorithm: JWSAlgorithm) throws -> SigningKey {
        switch algorithm {
        case .es256: .p256(P256.Signing.PrivateKey())
        case .rs256, .ps256: .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        case .edDSA: throw JWSError("Sigil does not sign with EdDSA")
        }
    }

    /// Reads a PKCS#8 / SEC1 / PKCS#1 PEM private key.
    public init(pem: String) throws {
        if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            self = .p256(key)
        } else {
            self = .rsa(try _RSA.Signing.PrivateKey(pemRepresentation: pem))
        }
    }

    public var pemRepresentation: String {
        switch self {
        case .p256(let key): key.pemRepresentation
        case .rsa(let key): key.pemRepresentation
        }
    }

    /// The algorithm this key signs with (RSA keys sign RS256).
    public var algorithm: JWSAlgorithm {
        switch self {
        case .p256: .es256
        case .rsa: .rs256
        }
    }

    public var publicKey: VerificationKey {
        switch self {
        case .p256(let key): .p256(key.publicKey)
        case .rsa(let key): .rsa(key.publicKey)
        }
    }

    func sign(_ input: Data) throws -> Data {
        switch self {
        case .p256(let key): try key.signature(for: SHA256.hash(data: input)).rawRepresentation
        case .rsa(let key): try key.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation
        }
    }
}
