import Foundation
import SigilCore
import SigilStore

/// A populated tenant for token tests: a resource `orders` (api://orders, role Orders.Read,
/// assignment required) and a client `billing` holding a secret, an RSA certificate, an EC
/// certificate and a bare EC JWK, plus `intruder`, another client with its own key.
struct World: Sendable {
    let server: TestServer
    let resourceAppId: String
    let clientId: String
    let clientObjectId: String
    let secret: String
    let secretKeyId: String
    let rsaKey: SigningKey
    let rsaCertificate: (pem: String, der: [UInt8])
    let ecKey: SigningKey
    let ecCertificate: (pem: String, der: [UInt8])
    let jwkKey: SigningKey
    let jwkKid = "billing-key-1"
    let intruderId: String
    let intruderKey: SigningKey

    static func make(_ server: TestServer) async throws -> World {
        let resource = try await server.createApp("orders", identifierUri: "api://orders", roleRequired: true)
        let client = try await server.createApp("billing")
        try await server.grant("billing", "orders", role: "Orders.Read")
        let (keyId, secret) = try await server.addSecret("billing")
        let rsaKey = try SigningKey.generate(for: .rs256)
        let rsaCertificate = try Assertions.certificate(for: rsaKey)
        _ = try await server.addKey("billing", ["type": "AsymmetricX509Cert", "key": .string(rsaCertificate.pem)])
        let ecKey = try SigningKey.generate(for: .es256)
        let ecCertificate = try Assertions.certificate(for: ecKey)
        _ = try await server.addKey("billing", ["type": "AsymmetricX509Cert", "key": .string(ecCertificate.pem)])
        let jwkKey = try SigningKey.generate(for: .es256)
        var jwk = jwkKey.publicKey.jwkMembers
        jwk["kid"] = "billing-key-1"
        _ = try await server.addKey("billing", ["type": "Jwk", "key": .object(jwk)])

        let intruder = try await server.createApp("intruder")
        try await server.grant("intruder", "orders", role: "Orders.Read")
        let intruderKey = try SigningKey.generate(for: .es256)
        var intruderJWK = intruderKey.publicKey.jwkMembers
        intruderJWK["kid"] = "intruder-key"
        _ = try await server.addKey("intruder", ["type": "Jwk", "key": .object(intruderJWK)])

        return World(
            server: server, resourceAppId: resource["appId"]!.stringValue!, clientId: client["appId"]!.stringValue!,
            clientObjectId: client["objectId"]!.stringValue!, secret: secret, secretKeyId: keyId, rsaKey: rsaKey,
            rsaCertificate: rsaCertificate, ecKey: ecKey, ecCertificate: ecCertificate, jwkKey: jwkKey,
            intruderId: intruder["appId"]!.stringValue!, intruderKey: intruderKey)
    }

    var secretForm: [(String, String)] {
        [("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", secret), ("scope", "api://orders/.default")]
    }

    func assertionForm(_ assertion: String, clientId: String? = nil) -> [(String, String)] {
        [
            ("grant_type", "client_credentials"), ("client_id", clientId ?? self.clientId), ("scope", "api://orders/.default"),
            ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
        ]
    }

    /// A valid assertion signed with the registered JWK (kid header).
    func jwkAssertion(claims: [String: JSONValue]? = nil, header: [String: JSONValue] = [:]) throws -> String {
        var header = header
        if header["kid"] == nil { header["kid"] = .string(jwkKid) }
        return try Assertions.sign(claims: claims ?? Assertions.claims(clientId: clientId, audience: server.tokenEndpoint), key: jwkKey, header: header)
    }

    func claims(_ change: (inout [String: JSONValue]) -> Void) -> [String: JSONValue] {
        var claims = Assertions.claims(clientId: clientId, audience: server.tokenEndpoint)
        change(&claims)
        return claims
    }
}
