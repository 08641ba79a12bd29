import Foundation
import Logging
import SQLKit
import Testing

@testable import SigilStore

/// The PostgreSQL directory-generation feed between two stores on one database (two replicas):
/// a change at one reaches the other by `NOTIFY`, and while the other's feed is lost it reads
/// the generation instead, so it never serves an old directory. PostgreSQL only.
@Suite struct DirectoryGenerationFeedTests {
    func until(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("not within 10 s: \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Ends every feed's connection to the test's database, as a restart or a network cut would.
    func terminateFeeds(through store: Store) async throws -> Int {
        try await store.read { database in
            try await database.raw("""
                SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
                WHERE application_name = \(bind: DirectoryGenerationFeed.applicationName) AND datname = current_database()
                """).all().count
        }
    }

    /// A directory change at `store`: an empty transaction still bumps the generation.
    func change(_ store: Store) async throws { try await store.transaction { _ in } }

    @Test func aChangeReachesTheOtherReplicaByNotifyAndALostFeedFallsBackToReading() async throws {
        guard let url = try await TestServer.freshPostgresDatabase() else { return }
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let a = try await Store.open(.postgres(url: url), logger: Logger(label: "replica-a"))
        let b = try await Store.open(.postgres(url: url), logger: Logger(label: "replica-b"))
        do {
            let feed = try #require(b.generationFeed)
            let first = try await b.directoryGeneration()  // starts b's feed, reading meanwhile
            try await until("b's feed is live") { feed.current == first }

            try await change(a)
            try await until("b hears of a's change") { feed.current == first + 1 }
            #expect(try await b.directoryGeneration() == first + 1)

            // b's feed loses its connection and cannot get another (the database refuses new
            // connections; the pools keep theirs): b reads the generation instead.
            try await b.read { try await $0.raw("SELECT 1").run() }  // b's pool holds an open connection
            try await TestServer.postgresAdmin("ALTER DATABASE \(database) ALLOW_CONNECTIONS false")
            #expect(try await terminateFeeds(through: a) == 1, "one feed listens: b's")
            try await until("b's feed knows it is lost") { feed.current == nil }
            try await change(a)
            #expect(feed.current == nil)
            #expect(try await b.directoryGeneration() == first + 2, "a lost feed must not serve the old generation")

            try await TestServer.postgresAdmin("ALTER DATABASE \(database) ALLOW_CONNECTIONS true")
            try await until("b's feed reconnects") { feed.current == first + 2 }
            try await change(a)
            try await until("b hears of a's change again") { feed.current == first + 3 }

            // A restore or a fail-over can leave the counter lower than the feed last heard: once
            // reconnected, the feed takes what it reads rather than keeping the higher value.
            try await a.write { try await $0.raw("UPDATE directory_generation SET value = 1 WHERE id = 1").run() }
            #expect(try await terminateFeeds(through: a) == 1)
            try await until("b's reconnected feed takes the lower generation") { feed.current == 1 }

            // b's own change counts at once, before its notification comes back.
            try await change(b)
            #expect(try await b.directoryGeneration() == 2)
        } catch {
            await a.close()
            await b.close()
            throw error
        }
        await a.close()
        await b.close()
    }
}
