import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOSSL
import PostgresKit
import SigilCore
import SigilServer
import SigilStore

/// A real Sigil server for one test: its own data folder and store, TLS on a free loopback
/// port, and an HTTPS client that trusts its CA. With `SIGIL_TEST_POSTGRES_URL` set, the store
/// is a fresh database on that PostgreSQL server instead of SQLite.
final class TestServer: Sendable {
    let server: SigilServer
    let task: Task<Void, any Error>
    let baseURL: String
    let folder: URL
    let adminKey: AdminKeyFile
    let http: HTTPClient

    var tenantId: String { server.tenant.id }
    var store: Store { server.store }
    var tokenEndpoint: String { "\(baseURL)/\(tenantId)/oauth2/v2.0/token" }

    /// A new tenant is secretless; unless `allowSecrets` is false (tests of that default), the
    /// server opts out once through the admin API, as `sigil policy app set --allow-secrets` does,
    /// so tests may add client secrets.
    static func start(
        folder given: URL? = nil, allowSecrets: Bool = true, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let folder = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("sigil-test-\(UUID().uuidString)")
        var configuration = ServerConfiguration()
        configuration.dataPath = folder.path
        configuration.port = 0
        configuration.database = try await freshPostgresDatabase()
        configure(&configuration)
        let server = try await SigilServer.prepare(configuration, logger: TestStore.quietLogger)
        let (ready, continuation) = AsyncStream.makeStream(of: ServerReadiness.self)
        let task = Task { try await server.run { continuation.yield($0) } }
        var iterator = ready.makeAsyncIterator()
        guard let readiness = await iterator.next() else { throw TestFailure("server did not start") }

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(folder.appendingPathComponent("tls/ca.pem").path))
        let adminKey = try JSONDecoder().decode(AdminKeyFile.self, from: Data(contentsOf: folder.appendingPathComponent(AdminKeyFile.fileName)))
        // Nothing may throw between making the HTTP client and handing it to the server value,
        // whose stop() shuts it down: a client dropped without shutdown is a crash.
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        let started = TestServer(server: server, task: task, baseURL: readiness.baseURL, folder: folder, adminKey: adminKey, http: http)
        guard allowSecrets else { return started }
        let allowed: Reply
        do {
            allowed = try await started.admin(
                "PATCH", "policies/defaultAppManagementPolicy", json: ["applicationRestrictions": ["passwordCredentials": [], "keyCredentials": []]])
        } catch {
            // An HTTP client dropped without shutdown is a crash: stop before giving up.
            await started.stop()
            throw error
        }
        guard allowed.status == 200 else {
            await started.stop()
            throw TestFailure("allowing secrets: \(allowed.status) \(allowed.json)")
        }
        return started
    }

    private init(server: SigilServer, task: Task<Void, any Error>, baseURL: String, folder: URL, adminKey: AdminKeyFile, http: HTTPClient) {
        self.server = server
        self.task = task
        self.baseURL = baseURL
        self.folder = folder
        self.adminKey = adminKey
        self.http = http
    }

    func stop(keepingData: Bool = false) async {
        try? await http.shutdown()
        await server.shutdown()
        _ = await task.result
        if !keepingData { try? FileManager.default.removeItem(at: folder) }
    }

    /// Runs `body` against a fresh server and always stops it.
    static func with<T>(
        allowSecrets: Bool = true, _ configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let server = try await start(allowSecrets: allowSecrets, configure: configure)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// With SIGIL_TEST_POSTGRES_URL (a URL to the `postgres` database of a running server),
    /// creates a database for one test and returns its URL; otherwise nil (SQLite).
    static func freshPostgresDatabase() async throws -> String? {
        guard var components = postgresAdminURL else { return nil }
        let name = "sigil_test_" + UUID().uuidString.prefix(8).lowercased()
        try await postgresAdmin("CREATE DATABASE \(name)")
        components.path = "/" + name
        return components.string
    }

    /// The server the test command started (`SIGIL_TEST_POSTGRES_URL`), if any.
    static var postgresAdminURL: URLComponents? {
        guard let url = ProcessInfo.processInfo.environment["SIGIL_TEST_POSTGRES_URL"], !url.isEmpty else { return nil }
        return URLComponents(string: url)
    }

    /// Runs `sql` on that server's own database, outside any test's store.
    static func postgresAdmin(_ sql: String) async throws {
        guard let components = postgresAdminURL else { throw TestFailure("SIGIL_TEST_POSTGRES_URL is not set") }
        let connection = try await postgresConnection(components)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: postgresLogger)
        } catch {
            try await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// A connection of its own to the database `components` names (a second client beside a store).
    static func postgresConnection(_ components: URLComponents) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: .init(
                host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
                password: components.password, database: String(components.path.dropFirst()), tls: .disable),
            id: 1, logger: postgresLogger)
    }

    static let postgresLogger = Logger(label: "test-postgres")

    // MARK: HTTP

    struct Reply {
        let status: Int
        let body: Data
        let headers: [(String, String)]
        var json: JSONValue { (try? JSONParser.parse(Array(body))) ?? .null }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func send(_ method: String, _ url: String, body: Data? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: url.hasPrefix("https://") ? url : baseURL + url)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        var buffer = try await response.body.collect(upTo: 8 << 20)
        return Reply(
            status: Int(response.status.code), body: buffer.readData(length: buffer.readableBytes) ?? Data(),
            headers: response.headers.map { ($0.name, $0.value) })
    }

    /// POSTs a form to the token endpoint.
    func token(_ parameters: [(String, String)], headers: [(String, String)] = []) async throws -> Reply {
        try await send(
            "POST", tokenEndpoint, body: Data(FormParameters.encode(parameters).utf8),
            headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers)
    }

    // MARK: Admin API

    /// An admin API token obtained the way the CLI does: an assertion signed with the admin key.
    func adminToken() async throws -> String {
        let key = try SigningKey(pem: adminKey.privateKey)
        let assertion = try Assertions.sign(clientId: adminKey.clientId, audience: tokenEndpoint, key: key, header: ["kid": .string(adminKey.kid)])
        let reply = try await token([
            ("grant_type", "client_credentials"), ("client_id", adminKey.clientId), ("scope", "api://sigil-admin/.default"),
            ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
        ])
        guard let token = reply.json["access_token"]?.stringValue else { throw TestFailure("admin token refused: \(reply.json)") }
        return token
    }

    func admin(_ method: String, _ path: String, json: JSONValue? = nil, token: String? = nil, rawBody: Data? = nil, contentType: String? = nil) async throws -> Reply {
        let bearer: String
        if let token { bearer = token } else { bearer = try await adminToken() }
        var headers: [(String, String)] = [("Authorization", "Bearer \(bearer)")]
        let body = rawBody ?? json.map { Data($0.serialized().utf8) }
        if body != nil { headers.append(("Content-Type", contentType ?? "application/json")) }
        return try await send(method, "/admin/v1/" + path, body: body, headers: headers)
    }

    /// Creates an application through the admin API and returns its JSON.
    @discardableResult
    func createApp(_ name: String, identifierUri: String? = nil, roleRequired: Bool = false, tokenAlgorithm: String = "ES256") async throws -> JSONValue {
        var body: [String: JSONValue] = ["displayName": .string(name), "appRoleAssignmentRequired": .bool(roleRequired), "accessTokenSigningAlgorithm": .string(tokenAlgorithm)]
        if let identifierUri { body["identifierUris"] = [.string(identifierUri)] }
        let reply = try await admin("POST", "applications", json: .object(body))
        guard reply.status == 201 else { throw TestFailure("create \(name): \(reply.status) \(reply.json)") }
        return reply.json
    }

    func addSecret(_ app: String, lifetime: String = "P30D") async throws -> (keyId: String, secret: String) {
        let reply = try await admin("POST", "applications/\(app)/passwordCredentials", json: ["lifetime": .string(lifetime)])
        guard reply.status == 201, let secret = reply.json["secretText"]?.stringValue, let keyId = reply.json["keyId"]?.stringValue else {
            throw TestFailure("add secret: \(reply.status) \(reply.json)")
        }
        return (keyId, secret)
    }

    func addKey(_ app: String, _ body: JSONValue) async throws -> JSONValue {
        let reply = try await admin("POST", "applications/\(app)/keyCredentials", json: body)
        guard reply.status == 201 else { throw TestFailure("add key: \(reply.status) \(reply.json)") }
        return reply.json
    }

    func grant(_ client: String, _ resource: String, role: String) async throws {
        // The role may exist already (409); the grant below says whether it is there.
        _ = try await admin("POST", "applications/\(FormParameters.percentEncode(resource))/appRoles", json: ["value": .string(role)])
        let reply = try await admin("POST", "appRoleAssignments", json: ["principalId": .string(client), "resourceId": .string(resource), "appRoleId": .string(role)])
        guard reply.status == 201 else { throw TestFailure("grant: \(reply.status) \(reply.json)") }
    }

    /// Assigns an admin role (by name) to a principal, over the tenant or scoped to one app; returns the assignment's id.
    @discardableResult
    func assignRole(_ role: String, to principal: String, app: String? = nil) async throws -> String {
        let reply = try await admin("POST", "roleManagement/directory/roleAssignments", json: [
            "roleDefinitionId": .string(role), "principalId": .string(principal), "directoryScopeId": .string(app.map { "/applications/" + $0 } ?? "/"),
        ])
        guard reply.status == 201, let id = reply.json["id"]?.stringValue else { throw TestFailure("assign \(role): \(reply.status) \(reply.json)") }
        return id
    }

    /// A role definition (built-in or custom) by name, as the core type.
    func roleDefinition(_ name: String) async throws -> DirectoryRole? {
        let json = try await admin("GET", "roleManagement/directory/roleDefinitions/\(FormParameters.percentEncode(name))").json
        guard let id = json["id"]?.stringValue else { return nil }
        let names = (json["rolePermissions"]?.arrayValue ?? []).flatMap { $0["allowedResourceActions"]?.arrayValue ?? [] }.compactMap(\.stringValue)
        return DirectoryRole(
            id: id, tenantId: json["isBuiltIn"]?.boolValue == true ? nil : tenantId, displayName: json["displayName"]?.stringValue ?? "",
            description: json["description"]?.stringValue ?? "", permissions: try DirectoryRole.permissions(named: names))
    }

    /// An admin API token for `app`, signed in with a new client secret.
    func adminToken(as app: String) async throws -> String {
        let (_, secret) = try await addSecret(app)
        let appId = try await admin("GET", "applications/\(FormParameters.percentEncode(app))").json["appId"]?.stringValue ?? ""
        let reply = try await token([("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://sigil-admin/.default")])
        guard let token = reply.json["access_token"]?.stringValue else { throw TestFailure("admin token for \(app) refused: \(reply.json)") }
        return token
    }

    /// The published JWKS, by kid.
    func jwks() async throws -> [String: VerificationKey] {
        let reply = try await send("GET", "/\(tenantId)/discovery/v2.0/keys")
        var keys: [String: VerificationKey] = [:]
        for entry in reply.json["keys"]?.arrayValue ?? [] {
            guard let object = entry.objectValue, let kid = object["kid"]?.stringValue else { continue }
            keys[kid] = try VerificationKey(jwk: object.filter { !["kid", "use", "alg"].contains($0.key) })
        }
        return keys
    }

    /// Verifies an access token against the published JWKS, as a resource server would.
    func verifiedClaims(_ token: String) async throws -> [String: JSONValue] {
        let jws = try CompactJWS(parsing: token)
        guard let kid = jws.header["kid"]?.stringValue, let key = try await jwks()[kid] else { throw TestFailure("token kid not in JWKS") }
        try jws.verify(with: key)
        return jws.claims
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    subscript(_ name: String) -> JSONValue? { objectValue?[name] }
}
