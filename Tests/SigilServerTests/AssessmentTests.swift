import Foundation
import SigilCore
@testable import SigilServer
import Testing

/// `GET /admin/v1/assessment` on a real server (both stores): the items follow the tenant's
/// state, and each assessment records the day's score once.
@Suite struct AssessmentTests {
    static func item(_ assessment: JSONValue, _ id: String) -> JSONValue? {
        assessment["items"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }

    @Test func theItemsFollowTheTenantAndTheDaysScoreIsKeptOnce() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let first = try await server.admin("GET", "assessment")
            #expect(first.status == 200, "\(first.json)")
            let secrets = try #require(Self.item(first.json, "appsWithoutSecrets"))
            #expect(secrets["passed"] == false && secrets["evidence"]?.stringValue?.contains("'billing'") == true, "\(secrets)")
            #expect(Self.item(first.json, "rotatorsLeastPrivilege")?["passed"] == true)
            #expect(Self.item(first.json, "alertsConfigured")?["fix"]?.stringValue?.hasPrefix("sigil alert add") == true)
            #expect(first.json["trend"]?.arrayValue?.count == 1)

            // A rotator over the whole tenant is named; the score drops by one item's share.
            _ = try await server.assignRole("Credential Rotator", to: "intruder")
            let second = try await server.admin("GET", "assessment").json
            let rotators = try #require(Self.item(second, "rotatorsLeastPrivilege"))
            #expect(rotators["passed"] == false && rotators["evidence"]?.stringValue?.contains("'intruder'") == true, "\(rotators)")
            #expect((second["score"]?.integerValue ?? 0) < (first.json["score"]?.integerValue ?? 0))
            let trend = second["trend"]?.arrayValue ?? []
            #expect(trend.count == 1 && trend.first?["score"] == second["score"], "the day's last assessment is the day's score")
            #expect(try await server.admin("GET", "assessment?days=3").status == 400)
            _ = world
        }
    }

    @Test func aScannerCountsOnceItSignsInAndTheDailyJobKeepsTheTrend() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            _ = try await server.assignRole("Security Operator", to: "intruder")
            let silent = try #require(Self.item(try await server.admin("GET", "assessment").json, "scannersReporting"))
            #expect(silent["score"] == .number(0.5) && silent["evidence"]?.stringValue?.contains("'intruder'") == true, "\(silent)")

            let claims = Assertions.claims(clientId: world.intruderId, audience: server.tokenEndpoint)
            let assertion = try Assertions.sign(claims: claims, key: world.intruderKey, header: ["kid": "intruder-key"])
            #expect(try await server.token(world.assertionForm(assertion, clientId: world.intruderId)).status == 200)
            let reporting = try #require(Self.item(try await server.admin("GET", "assessment").json, "scannersReporting"))
            #expect(reporting["passed"] == true && reporting["fix"] == .null, "\(reporting)")

            // Nobody ran `sigil assess` yesterday: the daily job scores it once, and the trend shows it.
            let job = DailyPostureScore(store: server.store, logger: server.server.logger)
            let yesterday = Date().addingTimeInterval(-86_400)
            #expect(await job.scoreUnscoredTenants(now: yesterday) == 1)
            #expect(await job.scoreUnscoredTenants(now: yesterday) == 0)
            #expect(await job.scoreUnscoredTenants() == 0, "today was scored by the assessments above")
            let trend = try await server.admin("GET", "assessment").json["trend"]?.arrayValue ?? []
            #expect(trend.count == 2 && trend.first?["date"]?.stringValue == String(yesterday.iso8601.prefix(10)), "\(trend)")
        }
    }
}
