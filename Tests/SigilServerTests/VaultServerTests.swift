import Foundation
import Logging
import SigilCore
import SwiftASN1
import Testing
import X509

@testable import SigilServer
@testable import SigilStore

/// Issue 11: the vault behind its Key Vault API on a real server, on SQLite and (with
/// SIGIL_TEST_POSTGRES_URL) PostgreSQL. The Azure SDKs drive it in Tests/Interop/test_vault.py;
/// these check what only the server side can see: the store's rows, ordering under concurrency,
/// the token service's view of the vault resource.
@Suite struct VaultServerTests {
    /// A token for the vault resource, signed in with the admin key (an Administrator holds every
    /// vault permission tenant-wide).
    static func vaultToken(_ server: TestServer, resource: String? = nil) async throws -> String {
        let key = try SigningKey(pem: server.adminKey.privateKey)
        let assertion = try Assertions.sign(
            clientId: server.adminKey.clientId, audience: server.tokenEndpoint, key: key, header: ["kid": .string(server.adminKey.kid)])
        let port = URLComponents(string: server.baseURL)!.port!
        let reply = try await server.token([
            ("grant_type", "client_credentials"), ("client_id", server.adminKey.clientId),
            ("scope", (resource ?? "https://vault.localhost:\(port)") + "/.default"),
            ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
        ])
        guard let token = reply.json["access_token"]?.stringValue else { throw TestFailure("vault token refused: \(reply.json)") }
        return token
    }

    static func createVault(_ server: TestServer, _ name: String) async throws {
        let reply = try await server.admin("POST", "vaults", json: ["name": .string(name)])
        guard reply.status == 201 else { throw TestFailure("create vault: \(reply.status) \(reply.json)") }
    }

    static func vault(_ server: TestServer, _ method: String, _ path: String, token: String, json: JSONValue? = nil) async throws -> TestServer.Reply {
        var headers = [("Authorization", "Bearer \(token)")]
        if json != nil { headers.append(("Content-Type", "application/json")) }
        return try await server.send(method, "/vaults/" + path + "?api-version=7.5", body: json.map { Data($0.serialized().utf8) }, headers: headers)
    }

    @Test func aValueIsStoredSealedAndOpensOnlyWithTheServersKEK() async throws {
        try await TestServer.with { server in
            try await Self.createVault(server, "sealed")
            let token = try await Self.vaultToken(server)
            let value = "correct horse battery staple"
            let set = try await Self.vault(server, "PUT", "sealed/secrets/db", token: token, json: ["value": .string(value)])
            #expect(set.status == 200)
            let vault = try #require(try await server.store.vault(named: "sealed"))
            let stored = try #require(try await server.store.secretVersion(vaultId: vault.id, name: "db", version: nil))
            #expect(!stored.envelope.ciphertext.contains(value) && !stored.envelope.wrappedKey.contains(value))
            #expect(try server.server.kek.ring.open(stored.envelope, context: stored.context) == value)
            #expect(throws: KeyEncryptionKey.Failure.self) { try KeyEncryptionKeyRing(current: KeyEncryptionKey()).open(stored.envelope, context: stored.context) }
        }
    }

    @Test func concurrentSetsOfOneNameKeepEveryVersionInOrder() async throws {
        try await TestServer.with { server in
            try await Self.createVault(server, "race")
            let token = try await Self.vaultToken(server)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<16 {
                    group.addTask { try await Self.vault(server, "PUT", "race/secrets/counter", token: token, json: ["value": .string("v\(n)")]).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 16))
            let vault = try #require(try await server.store.vault(named: "race"))
            let versions = try #require(try await server.store.secretVersions(vaultId: vault.id, name: "counter", after: 0, limit: 100))
            #expect(versions.count == 16)
            #expect(Set(versions.map(\.version.version)).count == 16)
            let latest = try #require(try await server.store.secretVersion(vaultId: vault.id, name: "counter", version: nil))
            #expect(latest.version.version == versions.last?.version.version)
        }
    }

    @Test func theTokenServiceTakesTheVaultResourceWithOrWithoutItsPort() async throws {
        try await TestServer.with { server in
            let vaultApp = try #require(try await server.store.resource(tenantId: server.tenantId, identifier: "https://vault.localhost"))
            for resource in ["https://vault.localhost", "https://vault.localhost:\(URLComponents(string: server.baseURL)!.port!)"] {
                let claims = try await server.verifiedClaims(try await Self.vaultToken(server, resource: resource))
                #expect(claims["aud"]?.stringValue == vaultApp.appId)
            }
            let other = try await server.token([("grant_type", "client_credentials"), ("scope", "https://vault.localhost:99999/.default")])
            #expect(other.status == 400 || other.status == 401)
        }
    }

    @Test func anotherVaultDomainMovesTheResourceAndTheCertificate() async throws {
        try await TestServer.with({ $0.vaultDomain = "kv.example.test" }) { server in
            #expect(try await server.store.resource(tenantId: server.tenantId, identifier: "https://kv.example.test") != nil)
            #expect(try await server.store.resource(tenantId: server.tenantId, identifier: "https://vault.localhost") == nil)
            let created = try await server.admin("POST", "vaults", json: ["name": "orders"])
            #expect(created.json["vaultUri"]?.stringValue == "https://orders.kv.example.test:\(URLComponents(string: server.baseURL)!.port!)")
            let pem = try String(contentsOf: server.folder.appendingPathComponent("tls/server.pem"), encoding: .utf8)
            let leaf = try Certificate(pemEncoded: try #require(try PEMDocument.parseMultiple(pemString: pem).first).pemString)
            let names = try #require(try leaf.extensions.subjectAlternativeNames)
            #expect(names.contains(.dnsName("*.kv.example.test")) && !names.contains(.dnsName("*.vault.localhost")))
            let unauthenticated = try await server.send("GET", "/vaults/orders/secrets?api-version=7.5")
            #expect(unauthenticated.status == 401)
            #expect(unauthenticated.header("WWW-Authenticate")?.contains("resource=\"https://kv.example.test:") == true)
        }
    }

    @Test func aGeneratedCertificateWithoutTheVaultDomainIsReplaced() throws {
        let folder = try DataFolder(path: FileManager.default.temporaryDirectory.appendingPathComponent("sigil-tls-\(UUID().uuidString)").path)
        defer { try? FileManager.default.removeItem(atPath: folder.path("")) }
        let logger = Logger(label: "tls-test")
        _ = try SelfSignedTLS.ensure(in: folder, vaultDomain: "vault.localhost", logger: logger)
        let first = try folder.read(SelfSignedTLS.caFile)
        _ = try SelfSignedTLS.ensure(in: folder, vaultDomain: "vault.localhost", logger: logger)
        #expect(try folder.read(SelfSignedTLS.caFile) == first, "a certificate that covers the domain is kept")
        _ = try SelfSignedTLS.ensure(in: folder, vaultDomain: "kv.internal", logger: logger)
        #expect(try folder.read(SelfSignedTLS.caFile) != first, "one that does not is replaced, with a new CA")
    }

    @Test func unknownPathsUnderAVaultAnswerInKeyVaultsShape() async throws {
        try await TestServer.with { server in
            let reply = try await server.send("GET", "/vaults/any/keys/k?api-version=7.5")
            #expect(reply.status == 404)
            #expect(reply.json["error"]?["code"]?.stringValue == "NotFound")
            let method = try await server.send("POST", "/vaults/any/secrets?api-version=7.5")
            #expect(method.status == 405)
            #expect(method.json["error"]?["code"]?.stringValue == "MethodNotAllowed")
        }
    }

    @Test func deletingAVaultTakesTheAssignmentsScopedToIt() async throws {
        try await TestServer.with { server in
            try await Self.createVault(server, "doomed")
            try await server.createApp("reader")
            let vault = try #require(try await server.store.vault(named: "doomed"))
            for scope in ["/vaults/doomed", "/vaults/\(vault.id)/secrets/db"] {
                let reply = try await server.admin("POST", "roleManagement/directory/roleAssignments", json: [
                    "roleDefinitionId": "Vault Secrets User", "principalId": "reader", "directoryScopeId": .string(scope),
                ])
                #expect(reply.status == 201, "\(reply.json)")
            }
            #expect(try await server.store.roleAssignments(tenantId: server.tenantId).filter { $0.scope != .tenant }.count == 2)
            #expect(try await server.admin("DELETE", "vaults/doomed").status == 204)
            #expect(try await server.store.roleAssignments(tenantId: server.tenantId).filter { $0.scope != .tenant }.isEmpty)
            let unknown = try await server.admin("POST", "roleManagement/directory/roleAssignments", json: [
                "roleDefinitionId": "Vault Secrets User", "principalId": "reader", "directoryScopeId": "/vaults/doomed",
            ])
            #expect(unknown.status == 404)
        }
    }
}
