import Foundation
import SigilCore
import SigilServer

/// Key files the CLI signs in with: a P-256 key made on this machine, its public half registered
/// on an application, the private half written here (0600) and nowhere else.
enum KeyFiles {
    /// Makes a key, registers its public JWK on `app` (any reference) under `name`, valid for
    /// `lifetime` (an ISO-8601 duration; nil: no end), and returns the key file for it, the
    /// credential the server created, and the application as it was before (its other
    /// credentials included).
    static func mint(
        on app: String, name: String, lifetime: String? = nil, with client: AdminClient
    ) async throws -> (file: AdminKeyFile, credential: JSONValue, before: JSONValue) {
        var body: [String: JSONValue] = ["type": "Jwk", "displayName": .string(name)]
        if let lifetime { body["endDateTime"] = .string(try end(after: lifetime)) }
        let registered = try await client.call("GET", App.path(app))
        let key = SigningKey.p256(.init())
        var jwk = key.publicKey.jwkMembers
        jwk["kid"] = .string(key.publicKey.thumbprint)
        body["key"] = .object(jwk)
        let credential = try await client.call("POST", App.path(app) + "/keyCredentials", json: .object(body))
        let file = AdminKeyFile(
            tenantId: client.key.tenantId, clientId: registered["appId"].text, kid: key.publicKey.thumbprint, privateKey: key.pemRepresentation)
        return (file, credential, registered)
    }

    /// The date-time `lifetime` (ISO-8601, e.g. P90D) from now, as `endDateTime` takes it.
    static func end(after lifetime: String) throws -> String {
        guard let seconds = ISO8601Duration.seconds(lifetime), seconds > 0 else {
            throw CLIError("--lifetime '\(lifetime)' is not an ISO-8601 duration longer than zero, such as P90D")
        }
        return Date().addingTimeInterval(seconds).formatted(.iso8601)
    }

    /// Writes `file` to `path` with mode 0600, atomically.
    static func write(_ file: AdminKeyFile, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(path, String(decoding: try encoder.encode(file), as: UTF8.self) + "\n", mode: 0o600)
    }
}
