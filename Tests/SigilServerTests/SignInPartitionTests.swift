import Foundation
import CoreMetrics
import Logging
import PostgresNIO
import SQLKit
import SigilCore
import Testing

@testable import SigilServer
@testable import SigilStore

/// The sign-in log partitioned by UTC day on PostgreSQL, and single-use assertion ids in their own
/// table on both stores: replays are refused across days, retention drops whole days, and an
/// upgrade carries the log and the ids over. Store tests run on SQLite, and on PostgreSQL too
/// when SIGIL_TEST_POSTGRES_URL is set; the partition tests only there.
@Suite struct SignInPartitionTests {
    static let day: TimeInterval = 86_400

    @Test func aDayPartitionIsNamedByItsUTCDate() throws {
        let date = try #require(RFC3339.date("2024-02-29T23:59:59.999Z"))
        let partition = SignInPartition(containing: date)
        #expect(partition.name == "sign_ins_20240229")
        #expect(partition.lower == 1_709_164_800_000 && partition.upper == 1_709_251_200_000)
        #expect(SignInPartition(name: "sign_ins_20240229") == partition)
        #expect(SignInPartition(containing: date.addingTimeInterval(0.001)).name == "sign_ins_20240301")
        #expect(SignInPartition(containing: Date(timeIntervalSince1970: 0)).name == "sign_ins_19700101")
        for name in ["sign_ins_default", "sign_ins_20230229", "sign_ins_2024022", "sign_ins_202402290", "sign_ins_2024-2-29", "sign_ins", "audit_events"] {
            #expect(SignInPartition(name: name) == nil, "\(name)")
        }
    }

    @Test func anAssertionIdIsSingleUseAcrossDaysAndWithinABatch() async throws {
        try await TestStore.withFresh { store in
            let yesterday = SignInPartition(containing: Date()).lowerDate.addingTimeInterval(-60)
            #expect(try await store.recordSignIns([Self.record(at: yesterday, assertion: "app:a")]) == [])
            // The same id today (another day's partition on PostgreSQL), twice in one batch, and a fresh one.
            let replays = try await store.recordSignIns([
                Self.record(at: Date(), assertion: "app:a"), Self.record(at: Date(), assertion: "app:b"),
                Self.record(at: Date(), assertion: "app:b"), Self.record(at: Date(), assertion: nil),
            ])
            #expect(replays == [0, 2])
            let logged = try await store.signIns(tenantId: "t", query: LogQuery(limit: 10))
            #expect(logged.count == 5, "every request is logged, the replays as failures")
            #expect(logged.filter { !$0.succeeded }.count == 2)
            #expect(logged.filter { $0.failureReason == "replayed" }.count == 2)
        }
    }

    @Test(.enabled(if: TestServer.postgresAdminURL != nil))
    func retentionDropsWholeDaysAndDeletesOnlyWhatWaitsInTheDefaultPartition() async throws {
        try await TestStore.withFresh { store in
            let now = Date()
            func at(_ days: Double) -> Date { now.addingTimeInterval(-days * Self.day) }
            func name(_ days: Double) -> String { SignInPartition(containing: at(days)).name }
            // Rows of days no partition covers wait in the default partition, and stay there: a
            // day that already has rows there gets no partition.
            _ = try await store.recordSignIns((0..<30).map { Self.record(at: at([40, 31, 3][$0 % 3]), assertion: "app:old-\($0)") })
            _ = try await store.recordSignIns([Self.record(at: at(50), assertion: nil)])
            #expect(try await Self.count(store, "sign_ins_default") == 31)
            let refused = await store.prepareSignInPartitions(now: at(40), daysAhead: 0)
            #expect(refused.created.isEmpty && refused.failed.isEmpty)
            // A day with nothing waiting gets its partition, and its rows land there.
            #expect(await store.prepareSignInPartitions(now: at(35), daysAhead: 0).created == [name(35)])
            _ = try await store.recordSignIns((0..<5).map { _ in Self.record(at: at(35), assertion: nil) })
            #expect(try await Self.count(store, name(35)) == 5)
            #expect(try await Self.count(store, "sign_ins_default") == 31)

            let maintenance = SignInMaintenance(
                store: store, retention: 30 * Self.day,
                unknownClients: UnknownClientFailures(recorder: SignInRecorder(store: store, metrics: NOOPMetricsHandler.instance), logger: TestStore.quietLogger),
                logger: TestStore.quietLogger)
            let sweep = await maintenance.sweep(now: now)
            #expect(sweep.droppedPartitions == [name(35)], "the whole day, dropped")
            #expect(sweep.deletedSignIns == 21, "the default partition's rows older than 30 days, one by one")
            #expect(sweep.forgottenAssertions == 30, "ids older than a day are forgotten")
            #expect(Set(sweep.createdPartitions) == Set((0...2).map { SignInPartition(containing: now.addingTimeInterval(Double($0) * Self.day)).name }))
            let kept = try await store.signIns(tenantId: "t", query: LogQuery(limit: 100))
            #expect(kept.count == 10 && kept.allSatisfy { SignInPartition(containing: $0.time) == SignInPartition(containing: at(3)) })
            // Today's sign-ins land in today's partition; a second sweep changes nothing.
            _ = try await store.recordSignIns([Self.record(at: now, assertion: "app:now")])
            #expect(try await Self.count(store, SignInPartition(containing: now).name) == 1)
            #expect(await maintenance.sweep(now: now) == SignInMaintenance.Sweep())
        }
    }

    @Test(.enabled(if: TestServer.postgresAdminURL != nil))
    func aStartingServerHasTodaysPartitionBeforeItsFirstSignIn() async throws {
        try await TestServer.with { server in
            let names = (0...SignInMaintenance.partitionDaysAhead).map { SignInPartition(containing: Date().addingTimeInterval(Double($0) * Self.day)).name }
            for name in names {
                let rows = try await Self.count(server.store, name)  // throws when the table does not exist
                #expect(rows >= 0)
            }
            let waiting = try await Self.count(server.store, "sign_ins_default")
            #expect(waiting == 0)
        }
    }

    @Test(.enabled(if: TestServer.postgresAdminURL != nil))
    func changingPartitionsGivesUpRatherThanQueueTokenInsertsBehindALongRead() async throws {
        try await TestStore.withFreshLocation { location, _ in
            let store = try await Store.open(location, logger: TestStore.quietLogger)
            let now = Date()
            let old = SignInPartition(containing: now.addingTimeInterval(-40 * Self.day))
            #expect(await store.prepareSignInPartitions(now: old.lowerDate, daysAhead: 0).created == [old.name])
            // Another client's open transaction has read the log and holds its lock: dropping the
            // old day gives up after the lock timeout instead of waiting (and making every token
            // insert wait behind it), and succeeds at the next try.
            guard case .postgres(let url) = location, let components = URLComponents(string: url) else { throw TestFailure("not PostgreSQL") }
            let reader = try await TestServer.postgresConnection(components)
            try await reader.query("BEGIN", logger: TestServer.postgresLogger)
            try await reader.query("SELECT COUNT(*) FROM sign_ins", logger: TestServer.postgresLogger)
            let cutoff = now.addingTimeInterval(-30 * Self.day)
            let started = Date()
            let blocked = try await store.dropSignInPartitions(endedBy: cutoff)
            #expect(blocked.dropped.isEmpty)
            #expect(blocked.failed[old.name] != nil)
            #expect(Date().timeIntervalSince(started) < 5, "it waited about the lock timeout (1 s), not for the reader")
            try await reader.query("COMMIT", logger: TestServer.postgresLogger)
            try await reader.close()
            #expect(try await store.dropSignInPartitions(endedBy: cutoff).dropped == [old.name])
            await store.close()
        }
    }

    @Test func anUpgradeCarriesTheLogAndTheUsedAssertionIdsOver() async throws {
        try await TestStore.withFreshLocation { location, _ in
            let old = try await Store.open(location, logger: TestStore.quietLogger, migratingThrough: 19)
            let now = Date()
            for (index, days) in [3.0, 1, 0, 0].enumerated() {
                let time = now.addingTimeInterval(-days * Self.day).epochMilliseconds
                try await old.write { database in
                    try await database.raw("""
                        INSERT INTO sign_ins (id, tenant_id, time, app_id, ip_address, succeeded, conditional_access_status, risk_level,
                            correlation_id, assertion_id)
                        VALUES (\(bind: "row-\(index)"), 't', \(bind: time), 'app', '127.0.0.1', 1, 'notApplied', 'none', 'c',
                            \(bind: index == 3 ? nil : "app:before-\(index)"))
                        """).run()
                }
            }
            await old.close()
            let store = try await Store.open(location, logger: TestStore.quietLogger)
            let logged = try await store.signIns(tenantId: "t", query: LogQuery(limit: 10))
            #expect(Set(logged.map(\.id)) == ["row-0", "row-1", "row-2", "row-3"])
            #expect(try await store.recordSignIns([Self.record(at: now, assertion: "app:before-2"), Self.record(at: now, assertion: "app:after")]) == [0])
            if store.dialect == .postgres {
                #expect(try await Self.count(store, "sign_ins_default") == 0)
                for days in [3.0, 1, 0] {
                    #expect(try await Self.count(store, SignInPartition(containing: now.addingTimeInterval(-days * Self.day)).name) > 0)
                }
            }
            await store.close()
        }
    }

    // MARK: Support

    static func record(at time: Date, assertion: String?) -> SignInRecord {
        func event(failure: String?) -> SignInEvent {
            SignInEvent(
                id: RandomIdentifier.timeOrderedUUID(at: time), time: time, tenantId: "t", appId: "app", appDisplayName: nil,
                servicePrincipalId: nil, credentialType: .certificate, credentialId: nil, ipAddress: "127.0.0.1", userAgent: nil,
                resource: nil, resourceId: nil, succeeded: failure == nil, errorCode: failure == nil ? nil : 50_000,
                failureReason: failure, correlationId: RandomIdentifier.uuid())
        }
        return SignInRecord(event: event(failure: nil), assertionId: assertion, eventIfReplayed: event(failure: "replayed"))
    }

    static func count(_ store: Store, _ table: String) async throws -> Int {
        try await store.read { database in
            try await database.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first().map { Int(try $0.int64("n")) } ?? -1
        }
    }
}

extension SignInPartition {
    var lowerDate: Date { Date(timeIntervalSince1970: TimeInterval(lower) / 1000) }
}
