import Crypto
import _CryptoExtras
import Foundation
import SigilCore
import SwiftASN1
import X509

/// Client assertions and certificates as clients make them, plus the forged ones attackers make.
enum Assertions {
    static func claims(clientId: String, audience: String, now: Date = Date(), lifetime: TimeInterval = 300, jti: String = UUID().uuidString) -> [String: JSONValue] {
        let seconds = Int64(now.timeIntervalSince1970)
        return [
            "iss": .string(clientId), "sub": .string(clientId), "aud": .string(audience), "jti": .string(jti),
            "iat": .integer(seconds), "nbf": .integer(seconds), "exp": .integer(seconds + Int64(lifetime)),
        ]
    }

    static func sign(clientId: String, audience: String, key: SigningKey, header: [String: JSONValue]) throws -> String {
        try sign(claims: claims(clientId: clientId, audience: audience), key: key, header: header)
    }

    /// Signs with `key`, PS256 for RSA when `pss` (as msal does), else the key's algorithm.
    static func sign(claims: [String: JSONValue], key: SigningKey, header: [String: JSONValue], pss: Bool = false) throws -> String {
        var header = header
        if header["alg"] == nil {
            switch key {
            case .p256: header["alg"] = "ES256"
            case .rsa: header["alg"] = pss ? "PS256" : "RS256"
            }
        }
        header["typ"] = "JWT"
        let input = Base64URL.encode(Data(JSONValue.object(header).serialized().utf8)) + "." + Base64URL.encode(Data(JSONValue.object(claims).serialized().utf8))
        let data = Data(input.utf8)
        let signature: Data
        switch key {
        case .p256(let key): signature = try key.signature(for: SHA256.hash(data: data)).rawRepresentation
        case .rsa(let key): signature = try key.signature(for: SHA256.hash(data: data), padding: pss ? .PSS : .insecurePKCS1v1_5).rawRepresentation
        }
        return input + "." + Base64URL.encode(signature)
    }

    /// A forged token: any header, any signature bytes.
    static func forge(header: JSONValue, claims: JSONValue, signature: Data = Data([1, 2, 3])) -> String {
        Base64URL.encode(Data(header.serialized().utf8)) + "." + Base64URL.encode(Data(claims.serialized().utf8)) + "." + Base64URL.encode(signature)
    }

    /// A self-signed certificate for `key`, as a developer would make with openssl.
    static func certificate(for key: SigningKey, notValidAfter: Date = Date().addingTimeInterval(86_400 * 30), notValidBefore: Date = Date().addingTimeInterval(-3600)) throws -> (pem: String, der: [UInt8]) {
        let name = try DistinguishedName { CommonName("test-client") }
        let certificate: Certificate
        switch key {
        case .p256(let privateKey):
            certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(privateKey.publicKey), notValidBefore: notValidBefore,
                notValidAfter: notValidAfter, issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(),
                issuerPrivateKey: .init(privateKey))
        case .rsa(let privateKey):
            certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(privateKey.publicKey), notValidBefore: notValidBefore,
                notValidAfter: notValidAfter, issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption, extensions: .init(),
                issuerPrivateKey: .init(privateKey))
        }
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return (try certificate.serializeAsPEM().pemString, serializer.serializedBytes)
    }

    static func x5t(_ der: [UInt8]) -> String { Base64URL.encode(Insecure.SHA1.hash(data: der)) }
    static func x5tS256(_ der: [UInt8]) -> String { Base64URL.encode(SHA256.hash(data: der)) }
}
