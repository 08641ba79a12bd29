import Foundation
import SigilCore

/// A client of the Key Vault API as served under `SERVER/vaults/NAME/`. It finds the vault
/// resource as the Azure SDKs do: an unauthenticated request gets the `401` challenge naming it,
/// then a token for `RESOURCE/.default` is fetched by `token` and the request sent again.
struct VaultClient {
    static let apiVersion = "7.5"

    let client: AdminClient
    /// A bearer token for a scope.
    let token: (String) async throws -> String

    /// Uses the CLI profile's admin key for tokens.
    init(client: AdminClient) {
        self.client = client
        token = { scope in try await client.accessToken(scope: scope) }
    }

    init(client: AdminClient, token: @escaping (String) async throws -> String) {
        self.client = client
        self.token = token
    }

    /// Calls `METHOD SERVER/vaults/VAULT/PATH`; returns the JSON body, or throws the vault's error.
    @discardableResult
    func call(_ method: String, vault: String, _ path: String, json: JSONValue? = nil, query: [(String, String)] = []) async throws -> JSONValue {
        let url = "\(client.profile.server)/vaults/\(vault)/\(path)?" + FormParameters.encode([("api-version", Self.apiVersion)] + query)
        let body = json.map { Data($0.serialized().utf8) }
        let contentType = json == nil ? nil : "application/json"
        var (status, data, headers) = try await client.exchange(method, url: url, body: nil, contentType: nil, bearer: nil)
        if status == 401, let resource = Self.challengeResource(headers.first(name: "WWW-Authenticate")) {
            let scope = resource + "/.default"
            (status, data, headers) = try await client.exchange(method, url: url, body: body, contentType: contentType, bearer: try await token(scope))
            if status == 401 {
                // A cached token the server no longer takes (keys rotated, server reset): once more.
                client.forgetToken(scope: scope)
                (status, data, headers) = try await client.exchange(method, url: url, body: body, contentType: contentType, bearer: try await token(scope))
            }
        }
        let parsed = data.isEmpty ? JSONValue.null : ((try? JSONParser.parse(Array(data))) ?? .null)
        guard (200..<300).contains(status) else {
            let message = parsed.objectValue?["error"]?.objectValue?["message"]?.stringValue ?? "HTTP \(status)"
            throw CLIError(message, status: status)
        }
        return parsed
    }

    /// The `resource` of a Key Vault challenge (`Bearer authorization="…", resource="…"`).
    static func challengeResource(_ header: String?) -> String? {
        guard let header, let range = header.range(of: "resource=\"") else { return nil }
        let rest = header[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}
