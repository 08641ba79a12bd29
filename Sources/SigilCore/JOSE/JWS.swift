import Crypto
import Foundation

/// The JWS algorithms Sigil accepts and issues. `none` and the HMAC family are absent on purpose:
/// a key registered in Sigil is public, so an HMAC "signed" with it proves nothing.
public enum JWSAlgorithm: String, Sendable, CaseIterable {
    case es256 = "ES256"
    case rs256 = "RS256"
    case ps256 = "PS256"
    /// Ed25519 (RFC 8037); accepted from federated issuers, never issued by Sigil.
    case edDSA = "EdDSA"
}

/// Why a compact JWS was refused, in words a client developer can act on.
public struct JWSError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A compact-serialised JWS split into its parts, with header and claims parsed strictly.
/// Nothing here is trusted until `verify(with:)` succeeds.
public struct CompactJWS: Sendable {
    public static let maximumLength = 16 * 1024

    public let header: [String: JSONValue]
    public let claims: [String: JSONValue]
    public let signingInput: Data
    public let signature: Data

    /// Splits and decodes `token`; refuses anything but three base64url parts of bounded size
    /// whose header and payload are JSON objects. A part may carry the `=` padding its length
    /// calls for (azure-identity's async credentials pad every part, and Entra takes them); the
    /// signature is still checked over the parts exactly as sent.
    public init(parsing token: String) throws(JWSError) {
        guard token.utf8.count <= Self.maximumLength else {
            throw JWSError("the JWT is longer than \(Self.maximumLength) bytes")
        }
        let bytes = Array(token.utf8)
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else {
            throw JWSError("a JWT has 3 dot-separated parts; this one has \(dots.count + 1)")
        }
        guard let headerBytes = Base64URL.decode(padded: bytes[..<dots[0]]) else { throw JWSError("the JWT header is not base64url") }
        guard let payloadBytes = Base64URL.decode(padded: bytes[(dots[0] + 1)..<dots[1]]) else {
            throw JWSError("the JWT payload is not base64url")
        }
        guard let signature = Base64URL.decode(padded: bytes[(dots[1] + 1)...]) else { throw JWSError("the JWT signature is not base64url") }
        do {
            header = try JSONParser.parseObject(headerBytes)
        } catch {
            throw JWSError("the JWT header is not a JSON object: \(error)")
        }
        do {
            claims = try JSONParser.parseObject(payloadBytes)
        } catch {
            throw JWSError("the JWT payload is not a JSON object: \(error)")
        }
        self.signature = signature
        signingInput = Data(bytes[..<dots[1]])
    }

    /// The header's `alg`, refused unless it is one Sigil accepts.
    public func algorithm() throws(JWSError) -> JWSAlgorithm {
        guard let name = header["alg"]?.stringValue else { throw JWSError("the JWT header has no 'alg'") }
        guard let algorithm = JWSAlgorithm(rawValue: name) else {
            throw JWSError("alg '\(name)' is not accepted; use RS256, PS256, ES256 or EdDSA")
        }
        return algorithm
    }

    /// Checks the signature with `key`; the algorithm must be one that `key` allows, so a token
    /// cannot choose how it is checked.
    public func verify(with key: VerificationKey) throws(JWSError) {
        let algorithm = try algorithm()
        guard key.algorithms.contains(algorithm) else {
            let allowed = key.algorithms.map(\.rawValue).sorted().joined(separator: " or ")
            throw JWSError("alg \(algorithm.rawValue) does not fit the registered \(key.kindName) key; it signs with \(allowed)")
        }
        guard key.isValidSignature(signature, for: signingInput, algorithm: algorithm) else {
            throw JWSError("the signature does not verify with the registered key")
        }
    }

    /// Serialises `claims` under a header naming `algorithm` and `kid`, signed by `key`.
    public static func sign(
        claims: [String: JSONValue], with key: SigningKey, kid: String, extraHeader: [String: JSONValue] = [:]
    ) throws -> String {
        var header = extraHeader
        header["alg"] = .string(key.algorithm.rawValue)
        header["kid"] = .string(kid)
        header["typ"] = "JWT"
        var headerJSON: [UInt8] = []
        JSONValue.object(header).write(into: &headerJSON)
        var claimsJSON: [UInt8] = []
        JSONValue.object(claims).write(into: &claimsJSON)
        let input = Base64URL.encode(headerJSON) + "." + Base64URL.encode(claimsJSON)
        let signature = try key.sign(Data(input.utf8))
        return input + "." + Base64URL.encode(signature)
    }
}
