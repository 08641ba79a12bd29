import Foundation
import Logging
import NIOPosix
import SQLKit

extension Store {
    /// Copies the SQLite store at `path` to `destination` as one consistent snapshot, also while a
    /// server is writing to it: `VACUUM INTO` reads the whole database in one read transaction,
    /// so the copy holds every transaction committed before it began and none after.
    public static func backUpSQLite(_ path: String, to destination: String, logger: Logger) async throws {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.invalidLocation("there is no SQLite store at \(path)") }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError.invalidLocation("\(destination) exists already; back up into a new file")
        }
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        let connection = try await openSQLite(path: path, threadPool: threads, logger: logger)
        do {
            try await connection.database.raw("VACUUM INTO \(bind: destination)").run()
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }
}
