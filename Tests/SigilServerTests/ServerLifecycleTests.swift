import Foundation
import Logging
import SigilCore
import SigilServer
import Testing

/// What survives a restart on the same data folder: the tenant, the CA clients trust, the TLS
/// certificate, the admin key and everything in the store.
@Suite struct ServerLifecycleTests {
    @Test func restartKeepsTenantTLSAndKeys() async throws {
        let first = try await TestServer.start()
        let folder = first.folder
        let files = ["tls/ca.pem", "tls/server.pem", "tls/server-key.pem", "admin-key.json", "kek"]
        func contents() throws -> [String] { try files.map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) } }
        let before = try contents()
        let tenant = first.tenantId
        try await first.createApp("survivor", identifierUri: "api://survivor")
        let (_, secret) = try await first.addSecret("survivor")
        let appId = try #require(try await first.admin("GET", "applications/survivor").json["appId"]?.stringValue)
        let database = first.server.configuration.database
        await first.stop(keepingData: true)

        // The same data folder and, on PostgreSQL, the same database.
        let second = try await TestServer.start(folder: folder) { $0.database = database }
        #expect(second.tenantId == tenant)
        #expect(try contents() == before, "restart must not regenerate the CA, certificate or keys")
        let reply = try await second.token([("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://survivor/.default")])
        #expect(reply.status == 200, "\(reply.json)")
        await second.stop()
    }

    @Test func aSecondProcessOnTheSameSQLiteStoreIsRefusedAndChangesNothing() async throws {
        guard ProcessInfo.processInfo.environment["SIGIL_TEST_POSTGRES_URL"] == nil else { return }
        try await TestServer.with { server in
            let ca = try String(contentsOf: server.folder.appendingPathComponent("tls/ca.pem"), encoding: .utf8)
            var configuration = server.server.configuration
            configuration.port = 0
            await #expect { _ = try await SigilServer.prepare(configuration, logger: .init(label: "second")) } throws: {
                String(describing: $0).contains("another sigil process is serving the SQLite store")
            }
            #expect(try String(contentsOf: server.folder.appendingPathComponent("tls/ca.pem"), encoding: .utf8) == ca)
        }
    }
}
