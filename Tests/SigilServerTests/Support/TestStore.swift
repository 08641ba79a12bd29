import Foundation
import Logging

@testable import SigilStore

/// Stores for tests that need a store without a server: fresh, on the test command's PostgreSQL
/// when it started one (`SIGIL_TEST_POSTGRES_URL`), else in an SQLite file.
enum TestStore {
    /// Warning and above: the stores and servers tests start log nothing routine.
    static let quietLogger: Logger = {
        var logger = Logger(label: "sigil-test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a fresh store location and a folder of its own (removed afterwards), which
    /// holds the SQLite file when there is one.
    static func withFreshLocation<T>(_ body: (StoreLocation, URL) async throws -> T) async throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sigil-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let location = StoreLocation(argument: try await TestServer.freshPostgresDatabase() ?? folder.appendingPathComponent("sigil.sqlite").path)
        return try await body(location, folder)
    }

    /// Runs `body` on a fresh store with the migrations through `version`, closed afterwards.
    static func withFresh<T>(migratingThrough version: Int = .max, _ body: (Store) async throws -> T) async throws -> T {
        try await withFreshLocation { location, _ in
            let store = try await Store.open(location, logger: quietLogger, migratingThrough: version)
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }
}
