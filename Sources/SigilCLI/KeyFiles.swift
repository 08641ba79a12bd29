import Foundation
import SigilCore
import SigilServer

/// Key files the CLI signs in with: a P-256 key made on this machine, its public half registered
/// on an application, the private half written here (0600) and nowhere else.
enum KeyFiles {
    /// Makes a key, registers its public JWK on `app` (any reference) under `name`, and returns
    /// the key file for it, the credential the server created, and the application as it was
    /// before (its other credentials included).
    static func mint(on app: String, name: String, with client: AdminClient) async throws -> (file: AdminKeyFile, credential: JSONValue, before: JSONValue) {
        let registered = try await client.call("GET", App.path(app))
        let key = SigningKey.p256(.init())
        var jwk = key.publicKey.jwkMembers
        jwk["kid"] = .string(key.publicKey.thumbprint)
        let credential = try await client.call("POST", App.path(app) + "/keyCredentials", json: [
            "type": "Jwk", "key": .object(jwk), "displayName": .string(name),
        ])
        let file = AdminKeyFile(
            tenantId: client.key.tenantId, clientId: registered["appId"].text, kid: key.publicKey.thumbprint, privateKey: key.pemRepresentation)
        return (file, credential, registered)
    }

    /// Writes `file` to `path` with mode 0600, atomically.
    static func write(_ file: AdminKeyFile, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(path, String(decoding: try encoder.encode(file), as: UTF8.self) + "\n", mode: 0o600)
    }
}
