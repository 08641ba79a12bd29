import Foundation
import Logging
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
    /// sent to both): each id is claimed by exactly one, and the two batches do not deadlock
    /// (PostgreSQL would end one after a second with an error) because ids are claimed in order.
    @Test(.enabled(if: TestServer.postgresAdminURL != nil))
    func replicasClaimingTheSameIdsAtOnceDoNotDeadlock() async throws {
        try await TestStore.withFreshLocation { location, _ in
            let first = try await Store.open(location, logger: TestStore.quietLogger)
            let second = try await Store.open(location, logger: TestStore.quietLogger)
            var failure: (any Error)?
            for round in 0..<5 where failure == nil {
                let ids = (0..<200).map { "round-\(round)-jti-\($0)" }
                async let one = first.recordSignIns(ids.map { record($0) })
                async let other = second.recordSignIns(ids.reversed().map { record($0) })
                do {
                    let (replayedByOne, replayedByOther) = try await (one, other)
                    #expect(replayedByOne.count + replayedByOther.count == ids.count, "round \(round): each id is claimed once")
                } catch {
                    failure = error
                }
            }
            let rows = try? await first.read { try await $0.raw("SELECT COUNT(*) AS n FROM sign_ins").first()?.decode(column: "n", as: Int64.self) }
            await first.close()
            await second.close()
            if let failure { Issue.record("a batch failed: \(String(reflecting: failure))") }
            #expect(rows == 2_000)
        }
    }
}
