import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import SigilCore
@testable import SigilServer
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

    @Test func theIssuerIsFixedAtFirstStartAndChangesOnlyOnPurpose() async throws {
        let (firstPort, secondPort) = (try freePort(), try freePort())
        let first = try await TestServer.start { $0.port = firstPort }
        let folder = first.folder
        let database = first.server.configuration.database
        #expect(first.baseURL == "https://127.0.0.1:\(firstPort)")
        await first.stop(keepingData: true)

        var moved = ServerConfiguration()
        moved.dataPath = folder.path
        moved.database = database
        moved.port = secondPort
        await #expect { _ = try await SigilServer.prepare(moved, logger: .init(label: "moved")) } throws: {
            let text = String(describing: $0)
            return text.contains("issuer URL is https://127.0.0.1:\(firstPort) (fixed at first start)")
                && text.contains("pass --issuer-url https://127.0.0.1:\(secondPort) to change it on purpose")
        }

        // On purpose: accepted, audited, and pinned from then on.
        let second = try await TestServer.start(folder: folder) { $0.database = database; $0.port = secondPort; $0.issuerURL = "https://127.0.0.1:\(secondPort)/" }
        #expect(second.baseURL == "https://127.0.0.1:\(secondPort)")
        let audit = try #require(try await second.admin("GET", "auditLogs").json["value"]?.arrayValue)
        let change = try #require(audit.first { $0["activityDisplayName"]?.stringValue == "server.issuerUrl.change" || $0["action"]?.stringValue == "server.issuerUrl.change" })
        #expect(change.serialized().contains("https://127.0.0.1:\(firstPort)") && change.serialized().contains("https://127.0.0.1:\(secondPort)"))
        await second.stop(keepingData: true)
        let third = try await TestServer.start(folder: folder) { $0.database = database; $0.port = secondPort }
        await third.stop()
    }

    /// A port nothing listens on now.
    func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
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

/// The generated certificate renews itself a day before it expires, with a new CA (the old CA's
/// key was never kept), and says so.
@Suite struct SelfSignedRenewalTests {
    @Test func aLeafAboutToExpireComesBackWithANewCA() throws {
        let folder = try DataFolder(path: FileManager.default.temporaryDirectory.appendingPathComponent("sigil-renew-\(UUID().uuidString)").path)
        defer { try? FileManager.default.removeItem(atPath: folder.path("")) }
        let logger = Logger(label: "renewal")
        let first = try SelfSignedTLS.ensure(in: folder, logger: logger)
        let (ca, leaf) = (try folder.read("tls/ca.pem"), try folder.read("tls/server.pem"))
        _ = try SelfSignedTLS.ensure(in: folder, now: Date().addingTimeInterval(300 * 86_400), logger: logger)
        #expect(try folder.read("tls/ca.pem") == ca, "well before expiry nothing changes")
        let renewed = try SelfSignedTLS.ensure(in: folder, now: Date().addingTimeInterval(365 * 86_400 - 3600), logger: logger)
        #expect(renewed.certificate == first.certificate)
        #expect(try folder.read("tls/server.pem") != leaf)
        #expect(try folder.read("tls/ca.pem") != ca, "a new leaf comes with a new CA")
        #expect(!folder.exists("tls/ca-key.pem"))
    }
}
