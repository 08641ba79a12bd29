import Foundation
import Logging
import SigilCore
import SigilStore
import Testing

@testable import SigilServer

/// The sign-in log cannot be grown without bound: unknown clients are sampled, and retention
/// deletes old rows without weakening replay protection.
@Suite struct SignInLogBoundsTests {
    func unknownClientForm(_ index: Int) -> [(String, String)] {
        [("grant_type", "client_credentials"), ("client_id", "nobody-\(index)"), ("client_secret", "x"), ("scope", "api://orders/.default")]
    }

    @Test func aFloodOfUnknownClientsAddsABoundedNumberOfRowsAndOneSummary() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let before = try await server.store.signIns(tenantId: server.tenantId, query: LogQuery(limit: 1000)).count
            for index in 0..<200 {
                let reply = try await server.token(unknownClientForm(index))
                #expect(reply.status == 400 || reply.status == 401)
                #expect(reply.json["error_description"]?.stringValue?.contains("AADSTS700016") == true, "every request still gets its answer")
            }
            // A known client's failures are each logged: they matter to risk detection.
            for _ in 0..<15 {
                _ = try await server.token([("grant_type", "client_credentials"), ("client_id", world.clientId), ("client_secret", "wrong"), ("scope", "api://orders/.default")])
            }
            var rows = try await server.store.signIns(tenantId: server.tenantId, query: LogQuery(limit: 1000))
            let sampled = UnknownClientSampler().rowsPerWindow
            #expect(rows.count - before == sampled + 15, "200 unknown-client failures wrote \(rows.count - before - 15) rows")

            await server.server.unknownClients.flush(at: Date().addingTimeInterval(120))
            rows = try await server.store.signIns(tenantId: server.tenantId, query: LogQuery(limit: 1000))
            let summaries = rows.filter { $0.failureReason?.contains("were counted, not logged one by one") == true }
            #expect(summaries.count == 1)
            #expect(summaries.first?.failureReason?.hasPrefix("\(200 - sampled) more failed sign-ins by unknown clients from 127.0.0.1") == true)
        }
    }

    @Test func retentionDeletesOldSignInsAndReplayProtectionHolds() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let assertion = try world.jwkAssertion()
            #expect(try await server.token(world.assertionForm(assertion)).status == 200)

            // Sign-ins from 40 and 31 days ago, as a server running for months would have.
            func old(_ days: Double, _ index: Int) -> SignInRecord {
                let time = Date().addingTimeInterval(-days * 86_400)
                return SignInRecord(event: SignInEvent(
                    id: RandomIdentifier.timeOrderedUUID(at: time), time: time, tenantId: server.tenantId, appId: world.clientId,
                    appDisplayName: nil, servicePrincipalId: nil, credentialType: .clientSecret, credentialId: nil, ipAddress: "127.0.0.1",
                    userAgent: nil, resource: nil, resourceId: nil, succeeded: true, errorCode: nil, failureReason: nil,
                    correlationId: RandomIdentifier.uuid()), assertionId: "\(world.clientId):old-\(index)")
            }
            _ = try await server.store.recordSignIns((0..<2500).map { old($0 % 2 == 0 ? 40 : 31, $0) })
            let all = LogQuery(limit: 10_000)
            #expect(try await server.store.signIns(tenantId: server.tenantId, query: all).count >= 2501)

            let maintenance = SignInMaintenance(
                store: server.store, retention: 30 * 86_400, unknownClients: server.server.unknownClients, logger: TestStore.quietLogger)
            #expect(await maintenance.sweep().deletedSignIns == 2500, "in batches of \(SignInMaintenance.batch)")
            let kept = try await server.store.signIns(tenantId: server.tenantId, query: all)
            #expect(kept.allSatisfy { $0.time > Date().addingTimeInterval(-30 * 86_400) })
            #expect(!kept.isEmpty)

            // The assertion used before the sweep is still refused.
            let replay = try await server.token(world.assertionForm(assertion))
            #expect(replay.status == 401)
            #expect(replay.json["error_description"]?.stringValue?.contains("already used") == true)
            // A retention shorter than a day is raised to one.
            let eager = SignInMaintenance(store: server.store, retention: 60, unknownClients: server.server.unknownClients, logger: TestStore.quietLogger)
            #expect(await eager.sweep().deletedSignIns == 0)
        }
    }
}
