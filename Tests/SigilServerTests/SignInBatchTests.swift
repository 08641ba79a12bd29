import Foundation
import Logging
import SQLKit
import SigilCore
import Testing

@testable import SigilStore

/// The token endpoint's group commit at the store: sign-ins and their single-use assertion ids
/// written by one statement, replays found within a batch and across batches. Runs on SQLite,
/// or on PostgreSQL when the test command provides one.
@Suite struct SignInBatchTests {
    static let tenant = "7d3f0a52-4a5c-4e27-9c1e-0b8f3f2d9a11"

    func record(_ jti: String?, app: String = "client-a") -> SignInRecord {
        func event(_ failure: OAuthError?) -> SignInEvent {
            SignInEvent(
                id: RandomIdentifier.timeOrderedUUID(at: Date()), time: Date(), tenantId: Self.tenant, appId: app,
                appDisplayName: nil, servicePrincipalId: nil, credentialType: .clientAssertion, credentialId: "key-1",
                ipAddress: "127.0.0.1", userAgent: nil, resource: "api://billing", resourceId: nil, succeeded: failure == nil,
                errorCode: failure?.code, failureReason: failure?.message, correlationId: RandomIdentifier.uuid())
        }
        return SignInRecord(
            event: event(nil), assertionId: jti.map { app + ":" + $0 }, eventIfReplayed: event(.assertionReplayed()))
    }

    @Test func anAssertionIdIsClaimedOnceWithinABatchAndAcrossBatches() async throws {
        try await TestStore.withFresh { store in
            // "a" twice in one batch: the second is the replay; a request without an assertion
            // (a secret) never conflicts.
            #expect(try await store.recordSignIns([record("a"), record("b"), record("a"), record(nil), record(nil)]) == [2])
            // "b" again in a later batch; "c" is new; the same jti from another app is its own.
            #expect(try await store.recordSignIns([record("b"), record("c"), record("a", app: "client-b")]) == [0])

            let rows = try await store.signIns(tenantId: Self.tenant, query: LogQuery(limit: 100))
            #expect(rows.count == 8, "every request is in the sign-in log, replays too")
            let failures = rows.filter { !$0.succeeded }
            #expect(failures.count == 2)
            #expect(failures.allSatisfy { $0.errorCode == OAuthError.assertionReplayed().code })
        }
    }

    /// Text with quotes, escapes, control and multi-byte characters comes back from a batch as it
    /// was sent, and numbers stay exact (one statement on PostgreSQL, prepared ones on SQLite).
    @Test func everyCharacterOfALoggedValueSurvivesTheBatch() async throws {
        try await TestStore.withFresh { store in
            let hostile = "quote \" backslash \\ slash / tab \t newline \n bell \u{07} del \u{7F} é 漢 🔑 \u{2028} ' ; -- ]},["
            var record = record("a", app: hostile)
            record.event.userAgent = hostile
            record.event.failureReason = hostile
            record.event.secretless.callerUid = 4_294_967_295
            #expect(try await store.recordSignIns([record]) == [])
            let row = try #require(try await store.signIns(tenantId: Self.tenant, query: LogQuery(limit: 1)).first)
            #expect(row.appId == hostile && row.userAgent == hostile && row.failureReason == hostile)
            #expect(row.secretless.callerUid == 4_294_967_295)
            #expect(row.time.epochMilliseconds == record.event.time.epochMilliseconds)
        }
    }

    /// A full batch (the recorder's largest) of sign-ins of as many credentials goes in whole, its
    /// usage with it: on PostgreSQL one statement whatever the batch's size.
    @Test func aFullBatchIsWrittenWithItsUsage() async throws {
        try await TestStore.withFresh { store in
            let records = (0..<256).map { index in
                var record = record("jti-\(index)", app: "client-\(index)")
                record.event.userAgent = "agent \(index)"
                return record
            }
            #expect(try await store.recordSignIns(records) == [])
            let counts = try await store.read { database in
                try await database.raw("""
                    SELECT (SELECT COUNT(*) FROM sign_ins) AS signins, (SELECT COUNT(*) FROM credential_usage) AS credentials,
                        (SELECT COUNT(*) FROM credential_usage_sources) AS sources, (SELECT COUNT(*) FROM app_daily_sign_ins) AS days
                    """).first().map { row in try ["signins", "credentials", "sources", "days"].map { try row.decode(column: $0, as: Int64.self) } }
            }
            #expect(counts == [256, 256, 512, 256])
        }
    }

    /// On PostgreSQL a batch that meets an id used before fails its one statement on purpose and is
    /// written again: the connection it failed on stays in the pool, so replays cannot make Sigil
    /// open connection after connection.
    @Test(.enabled(if: TestServer.postgresAdminURL != nil))
    func aReplayAcrossBatchesKeepsItsConnection() async throws {
        try await TestStore.withFresh { store in
            func backend() async throws -> Int64? {
                try await store.read { try await $0.raw("SELECT pg_backend_pid() AS pid").first()?.decode(column: "pid", as: Int64.self) }
            }
            #expect(try await store.recordSignIns([record("a")]) == [])
            let before = try await backend()
            for _ in 0..<3 { #expect(try await store.recordSignIns([record("a"), record("fresh-" + RandomIdentifier.uuid())]) == [0]) }
            #expect(try await backend() == before, "the same connection served the replays")
            let rows = try await store.signIns(tenantId: Self.tenant, query: LogQuery(limit: 100))
            #expect(rows.count == 7 && rows.filter { !$0.succeeded }.count == 3)
        }
    }

    /// Two replicas claiming the same ids at once, listed in opposite orders (a replayed batch
    /// sent to both): the claims are taken in one order, so the batches queue instead of each
    /// holding an id the other waits for (PostgreSQL ends one of them with `40P01` after a
    /// second). A third session holds the middle id until both batches wait, so they meet there.
    @Test(.enabled(if: TestServer.postgresAdminURL != nil))
    func replicasClaimingTheSameIdsAtOnceDoNotDeadlock() async throws {
        let ids = (0..<200).map { "jti-\($0)" }
        let (one, other) = try await Self.meetingAtALock(
            "INSERT INTO single_use_assertions (id, used_at) VALUES ('client-a:jti-100', 0)",
            first: { try await $0.recordSignIns(ids.reversed().map { record($0) }) },
            then: { try await $0.recordSignIns(ids.map { record($0) }) })
        #expect(Set([one.count, other.count]) == [0, ids.count], "one batch claims every id, the other's are replays")
    }

    /// A batch written as one statement and one written again claims first (it met a replay) on
    /// another replica, for the same credential and day: both take the usage rows in the same
    /// order. A third session holds the credential's source row until both wait.
    @Test(.enabled(if: TestServer.postgresAdminURL != nil))
    func aBatchWrittenAgainAndAOneStatementBatchDoNotDeadlock() async throws {
        let (again, once) = try await Self.meetingAtALock(
            "SELECT 1 FROM credential_usage_sources FOR UPDATE",
            setUp: { store in
                let replayed = try await store.recordSignIns([record("used")])
                #expect(replayed == [])
            },
            first: { try await $0.recordSignIns([record("used"), record("fresh-1")]) },
            then: { try await $0.recordSignIns([record("fresh-2")]) })
        #expect(again == [0] && once == [])
    }

    /// Two stores on one PostgreSQL database, as two replicas, after `setUp` on the first. A third
    /// session runs `lock` in a transaction; then `first` starts on one store, and once it waits
    /// for a lock, `then` on the other; once both wait, the lock is rolled back. Returns what
    /// `first` and `then` returned.
    static func meetingAtALock<T: Sendable>(
        _ lock: String, setUp: @Sendable (Store) async throws -> Void = { _ in },
        first: @escaping @Sendable (Store) async throws -> T, then: @escaping @Sendable (Store) async throws -> T
    ) async throws -> (T, T) {
        try await TestStore.withFreshLocation { location, _ in
            var stores: [Store] = []
            do {
                for _ in 0..<3 { stores.append(try await Store.open(location, logger: TestStore.quietLogger)) }
                let (replica, other, holder) = (stores[0], stores[1], stores[2])
                try await setUp(replica)
                let (held, holding) = AsyncStream<Void>.makeStream()
                let lockHolder = Task {
                    do {
                        try await holder.transaction(changesDirectory: false) { database in
                            try await database.raw(SQLQueryString(lock)).run()
                            holding.yield()
                            try await waitForLockWaiters(2, on: holder)
                            throw RollBack()
                        }
                    } catch is RollBack {}
                }
                for await _ in held { break }
                let firstBatch = Task { try await first(replica) }
                try await waitForLockWaiters(1, on: holder)
                let thenBatch = Task { try await then(other) }
                try await lockHolder.value
                let results = (try await firstBatch.value, try await thenBatch.value)
                for store in stores { await store.close() }
                return results
            } catch {
                for store in stores { await store.close() }
                throw error
            }
        }
    }

    /// Ends the lock holder's transaction with a rollback.
    struct RollBack: Error {}

    /// Waits (at most 10 s) until `count` sessions of the store's database wait for a lock.
    static func waitForLockWaiters(_ count: Int, on store: Store) async throws {
        for _ in 0..<1_000 {
            let waiting = try await store.read { database in
                try await database.raw("""
                    SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                    """).first()?.decode(column: "n", as: Int64.self)
            }
            if waiting == Int64(count) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("\(count) sessions never waited for a lock together")
    }
}
