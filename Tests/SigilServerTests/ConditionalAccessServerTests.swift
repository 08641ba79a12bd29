import Foundation
import SigilCore
import Testing

/// Conditional Access through the real token endpoint and admin API (on PostgreSQL too when
/// SIGIL_TEST_POSTGRES_URL is set). Test clients connect from 127.0.0.1, so "outside the trusted
/// locations" here means a trusted location elsewhere. Bad input first.
@Suite struct ConditionalAccessServerTests {
    static let base = "identity/conditionalAccess/"

    static func location(_ server: TestServer, _ name: String, _ cidrs: [String], trusted: Bool = true) async throws -> JSONValue {
        let reply = try await server.admin("POST", base + "namedLocations", json: [
            "displayName": .string(name), "isTrusted": .bool(trusted), "ipRanges": .array(cidrs.map { ["cidrAddress": .string($0)] }),
        ])
        guard reply.status == 201 else { throw TestFailure("location: \(reply.status) \(reply.json)") }
        return reply.json
    }

    static func policyBody(
        _ name: String, state: String = "enabled", include: [String] = ["All"], exclude: [String] = [admin],
        locations: JSONValue = .null, risks: [String] = []
    ) -> JSONValue {
        [
            "displayName": .string(name), "state": .string(state),
            "conditions": [
                "clientApplications": ["includeServicePrincipals": .array(include.map(JSONValue.string)), "excludeServicePrincipals": .array(exclude.map(JSONValue.string))],
                "locations": locations, "servicePrincipalRiskLevels": .array(risks.map(JSONValue.string)),
            ],
            "grantControls": ["operator": "OR", "builtInControls": ["block"]],
        ]
    }

    static func policy(_ server: TestServer, _ body: JSONValue) async throws -> JSONValue {
        let reply = try await server.admin("POST", base + "policies", json: body)
        guard reply.status == 201 else { throw TestFailure("policy: \(reply.status) \(reply.json)") }
        return reply.json
    }

    static let outsideTrusted: JSONValue = ["includeLocations": ["All"], "excludeLocations": ["AllTrusted"]]

    /// The bootstrap administrator's application, which policies for "All" must leave out.
    static let admin = "sigil-bootstrap-admin"

    @Test func everyBadInputIsRefusedClearlyAndChangesNothing() async throws {
        try await TestServer.with { server in
            _ = try await World.make(server)
            let admin = Self.admin
            let auditBefore = try await server.admin("GET", "auditLogs?top=1000").json["value"]?.arrayValue?.count ?? 0
            func refused(_ method: String, _ path: String, _ body: JSONValue, _ status: Int, _ text: String, target: String? = nil) async throws {
                let reply = try await server.admin(method, Self.base + path, json: body)
                #expect(reply.status == status, "\(path) \(body): \(reply.json)")
                let message = reply.json["error"]?["message"]?.stringValue ?? ""
                #expect(message.contains(text), "\(message)")
                if let target { #expect(reply.json["error"]?["target"]?.stringValue == target, "\(reply.json)") }
            }
            func location(_ cidrs: [String], name: String = "office") -> JSONValue {
                ["displayName": .string(name), "isTrusted": true, "ipRanges": .array(cidrs.map { ["cidrAddress": .string($0)] })]
            }
            try await refused("POST", "namedLocations", location(["10.0.0.0/33"]), 400, "from 0 to 32", target: "ipRanges")
            try await refused("POST", "namedLocations", location(["10.1.2.3/8"]), 400, "did you mean 10.0.0.0/8?", target: "ipRanges")
            try await refused("POST", "namedLocations", location(["::ffff:10.0.0.0/104"]), 400, "write the IPv4 range 10.0.0.0/8 instead")
            try await refused("POST", "namedLocations", location(["10.0.0.0/8", "10.20.0.0/16"]), 400, "10.20.0.0/16 overlaps 10.0.0.0/8")
            try await refused("POST", "namedLocations", location(["10.0.0.0/8", "10.0.0.0/8"]), 400, "listed twice")
            try await refused("POST", "namedLocations", location([]), 400, "at least one range")
            try await refused("POST", "namedLocations", ["displayName": "x", "ipRanges": [["cidrAddress": "10.0.0.0/8"]], "countriesAndRegions": ["FR"]], 400, "Unknown field")
            let office = try await Self.location(server, "office", ["198.51.100.0/24"])
            try await refused("POST", "namedLocations", location(["203.0.113.0/24"]), 409, "already exists")

            try await refused("POST", "policies", Self.policyBody("p", include: ["no-such-app"]), 400, "'no-such-app', which is no service principal",
                target: "conditions.clientApplications.includeServicePrincipals")
            try await refused("POST", "policies", Self.policyBody("p", include: ["billing"], exclude: ["billing"]), 400, "could never apply")
            try await refused("POST", "policies", Self.policyBody("p", exclude: ["All"]), 400, "exclude everyone")
            try await refused("POST", "policies", Self.policyBody("p", exclude: [admin], locations: ["includeLocations": ["office"], "excludeLocations": ["office"]]), 400, "could never apply")
            try await refused("POST", "policies", Self.policyBody("p", exclude: [admin], locations: ["includeLocations": ["nowhere"]]), 400, "no named location")
            try await refused("POST", "policies", Self.policyBody("p", state: "on"), 400, "state must be")
            // A policy that would block the administrator's own sign-in would lock everyone out.
            try await refused("POST", "policies", Self.policyBody("lockout", exclude: [], locations: Self.outsideTrusted), 403, "lock you out")
            let kept = try await Self.policy(server, Self.policyBody("kept", exclude: [admin], locations: ["includeLocations": ["office"]]))
            try await refused("DELETE", "namedLocations/office", .null, 409, "used by the policies 'kept'")
            try await refused("PATCH", "policies/kept", ["conditions": ["clientApplications": ["includeServicePrincipals": ["All"]], "locations": Self.outsideTrusted]], 403, "lock you out")

            // Nothing refused left a trace: one location, one policy, two audit events.
            #expect(try await server.admin("GET", Self.base + "namedLocations").json["value"]?.arrayValue?.count == 1)
            let policies = try await server.admin("GET", Self.base + "policies").json["value"]?.arrayValue ?? []
            #expect(policies.map { $0["id"] } == [kept["id"]])
            #expect(policies.first?["conditions"]?["locations"]?["includeLocations"] == [office["id"]!], "stored by id")
            let audit = try await server.admin("GET", "auditLogs?top=1000").json["value"]?.arrayValue ?? []
            #expect(audit.count == auditBefore + 2)
        }
    }

    @Test func aBlockedRequestGetsAccessDenied53003AndTheSignInRecordsEveryPolicy() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let admin = Self.admin
            _ = try await Self.location(server, "office", ["198.51.100.0/24", "2001:db8::/32"])
            let block = try await Self.policy(server, Self.policyBody("billing outside office", include: ["billing"], exclude: [], locations: Self.outsideTrusted))
            let report = try await Self.policy(server, Self.policyBody("everyone outside office", state: "reportOnly", exclude: [admin], locations: Self.outsideTrusted))
            _ = try await Self.policy(server, Self.policyBody("off", state: "disabled", exclude: [admin]))

            let correlation = UUID().uuidString.lowercased()
            let refused = try await server.token(world.secretForm, headers: [("client-request-id", correlation)])
            #expect(refused.status == 400)
            #expect(refused.json["error"] == "access_denied")
            #expect(refused.json["error_codes"] == [53003])
            #expect(refused.json["correlation_id"]?.stringValue == correlation)
            #expect(refused.json["access_token"] == nil)
            let description = refused.json["error_description"]?.stringValue ?? ""
            #expect(description.contains("AADSTS53003: Access has been blocked by Conditional Access policies"), "\(description)")
            #expect(description.contains("'billing outside office'"))
            // Every credential type is evaluated: the registered key is blocked the same way.
            #expect(try await server.token(world.assertionForm(try world.jwkAssertion())).json["error_codes"] == [53003])

            // Another client is outside the enforced policy: it gets its token; the report-only one only notes it.
            let intruder = try await server.token([
                ("grant_type", "client_credentials"), ("client_id", world.intruderId), ("scope", "api://orders/.default"),
                ("client_assertion_type", ClientCredentialsRequest.assertionType),
                ("client_assertion", try Assertions.sign(clientId: world.intruderId, audience: server.tokenEndpoint, key: world.intruderKey, header: ["kid": "intruder-key"])),
            ])
            #expect(intruder.status == 200, "\(intruder.json)")

            let blocked = try #require(try await server.admin("GET", "signInLogs?appId=\(world.clientId)").json["value"]?.arrayValue?.last)
            #expect(blocked["correlationId"]?.stringValue == correlation)
            #expect(blocked["status"]?["succeeded"] == false)
            #expect(blocked["status"]?["errorCode"] == 53003)
            #expect(blocked["conditionalAccessStatus"] == "failure")
            #expect(blocked["appliedConditionalAccessPolicies"] == [
                ["id": block["id"]!, "displayName": "billing outside office", "result": "failure"],
                ["id": report["id"]!, "displayName": "everyone outside office", "result": "reportOnlyFailure"],
                ["id": try #require(try await server.admin("GET", Self.base + "policies/off").json["id"]), "displayName": "off", "result": "notEnabled"],
            ])
            let passed = try #require(try await server.admin("GET", "signInLogs?appId=\(world.intruderId)").json["value"]?.arrayValue?.first)
            #expect(passed["conditionalAccessStatus"] == "notApplied", "report-only never changes the status")
            #expect(passed["appliedConditionalAccessPolicies"]?.arrayValue?.map { $0["result"] } == ["notApplied", "reportOnlyFailure", "notEnabled"])
        }
    }

    @Test func aChangeTakesEffectOnTheNextRequest() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let office = try await Self.location(server, "office", ["198.51.100.0/24"])
            _ = try await Self.policy(server, Self.policyBody("outside", include: ["billing"], exclude: [], locations: Self.outsideTrusted))
            #expect(try await server.token(world.secretForm).json["error_codes"] == [53003])

            // The office now includes the loopback network: the request is inside a trusted location.
            let moved = try await server.admin("PATCH", Self.base + "namedLocations/office", json: ["ipRanges": [["cidrAddress": "127.0.0.0/8"]]])
            #expect(moved.status == 200, "\(moved.json)")
            #expect(try await server.token(world.secretForm).status == 200)
            // No longer trusted: blocked again.
            #expect(try await server.admin("PATCH", Self.base + "namedLocations/\(office["id"]!.stringValue!)", json: ["isTrusted": false]).status == 200)
            #expect(try await server.token(world.secretForm).json["error_codes"] == [53003])
            // Report-only never blocks; disabled is not evaluated; an excluded principal passes.
            #expect(try await server.admin("PATCH", Self.base + "policies/outside", json: ["state": "reportOnly"]).status == 200)
            #expect(try await server.token(world.secretForm).status == 200)
            #expect(try await server.admin("PATCH", Self.base + "policies/outside", json: ["state": "disabled"]).status == 200)
            #expect(try await server.token(world.secretForm).status == 200)
            let entry = try #require(try await server.admin("GET", "signInLogs?appId=\(world.clientId)&top=1").json["value"]?.arrayValue?.first)
            #expect(entry["appliedConditionalAccessPolicies"]?.arrayValue?.first?["result"] == "notEnabled")
            let excluded = Self.policyBody("outside", include: ["All"], exclude: ["billing", Self.admin], locations: Self.outsideTrusted)
            #expect(try await server.admin("PATCH", Self.base + "policies/outside", json: excluded).status == 200)
            #expect(try await server.token(world.secretForm).status == 200)
            #expect(try await server.admin("DELETE", Self.base + "policies/outside").status == 204)
            #expect(try await server.admin("DELETE", Self.base + "namedLocations/office").status == 204)
            let last = try #require(try await server.admin("GET", "signInLogs?appId=\(world.clientId)&top=1").json["value"]?.arrayValue?.first)
            #expect(last["appliedConditionalAccessPolicies"]?.arrayValue?.first?["result"] == "notApplied")
        }
    }

    @Test func riskIsUsedAtOnceAndDismissingItLiftsTheBlock() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            _ = try await Self.policy(server, Self.policyBody("risky", exclude: [Self.admin], risks: ["high"]))
            #expect(try await server.token(world.assertionForm(try world.jwkAssertion())).status == 200)
            let digest = LeakReportTests.sha256Hex(world.secret)
            #expect(try await LeakReportTests.report(server, [digest]).status == 200)
            let blocked = try await server.token(world.assertionForm(try world.jwkAssertion()))
            #expect(blocked.json["error_codes"] == [53003], "a new detection applies to the next request")
            let entry = try #require(try await server.admin("GET", "signInLogs?appId=\(world.clientId)&top=1").json["value"]?.arrayValue?.first)
            #expect(entry["riskLevel"] == "high")
            let detection = try #require(try await server.admin("GET", "riskDetections").json["value"]?.arrayValue?.first?["id"]?.stringValue)
            #expect(try await server.admin("POST", "riskDetections/\(detection)/dismiss").status == 200)
            #expect(try await server.token(world.assertionForm(try world.jwkAssertion())).status == 200, "dismissed: no longer risky")
        }
    }

    @Test func aManagedIdentityIsEvaluatedToo() async throws {
        try await ManagedIdentityTests.withWorld { server, agent, identity in
            _ = try await Self.location(server, "office", ["198.51.100.0/24"])
            _ = try await Self.policy(server, Self.policyBody("workers outside office", include: ["billing-worker"], exclude: [], locations: Self.outsideTrusted))
            let refused = try await agent.token(for: identity["appId"]!.stringValue!)
            #expect(refused.status == 400)
            #expect(refused.json["error_codes"] == [53003])
            #expect(try await agent.token(for: agent.systemAppId).status == 200, "the host's own identity is not included")
            let entry = try #require(try await server.admin("GET", "signInLogs?appId=\(identity["appId"]!.stringValue!)&top=1").json["value"]?.arrayValue?.first)
            #expect(entry["clientCredentialType"] == "managedIdentity")
            #expect(entry["conditionalAccessStatus"] == "failure")
        }
    }

    @Test func whatIfExplainsAndImpactReplaysRecordedSignIns() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let admin = Self.admin
            _ = try await Self.location(server, "office", ["198.51.100.0/24"])
            _ = try await Self.policy(server, Self.policyBody("outside", state: "reportOnly", exclude: [admin], locations: Self.outsideTrusted))
            for _ in 0..<3 { #expect(try await server.token(world.secretForm).status == 200) }
            _ = try await server.token(world.secretForm.map { $0.0 == "client_secret" ? ($0.0, "wrong") : $0 })  // never reached CA: not replayed

            let whatIf = try await server.admin("POST", Self.base + "evaluate", json: ["servicePrincipalId": "billing", "ipAddress": "198.51.100.7"])
            #expect(whatIf.status == 200, "\(whatIf.json)")
            #expect(whatIf.json["namedLocations"]?.arrayValue?.first?["displayName"] == "office")
            #expect(whatIf.json["policies"]?.arrayValue?.first?["result"] == "reportOnlyNotApplied")
            #expect(whatIf.json["policies"]?.arrayValue?.first?["reason"] == "198.51.100.7 is in the excluded location 'office'")
            let outside = try await server.admin("POST", Self.base + "evaluate", json: ["servicePrincipalId": .string(world.clientId), "ipAddress": "::ffff:203.0.113.5", "servicePrincipalRiskLevel": "high"])
            #expect(outside.json["policies"]?.arrayValue?.first?["result"] == "reportOnlyFailure")
            #expect(outside.json["servicePrincipalRiskLevel"] == "high")
            #expect(try await server.admin("POST", Self.base + "evaluate", json: ["servicePrincipalId": "billing", "ipAddress": "10.0.0.0/8"]).status == 400)
            #expect(try await server.admin("POST", Self.base + "evaluate", json: ["servicePrincipalId": "nobody", "ipAddress": "10.0.0.1"]).status == 404)

            let draft = Self.policyBody("draft", include: ["billing"], exclude: [], locations: Self.outsideTrusted)
            let impact = try await server.admin("POST", Self.base + "impact", json: ["policy": draft, "days": 1, "top": 2])
            #expect(impact.status == 200, "\(impact.json)")
            #expect(impact.json["blockedSignIns"] == 3, "the three tokens billing got from 127.0.0.1, not the failed attempt")
            #expect(impact.json["servicePrincipals"]?.arrayValue?.map { $0["appDisplayName"] } == ["billing"])
            #expect(impact.json["servicePrincipals"]?.arrayValue?.first?["blockedSignIns"] == 3)
            #expect(impact.json["signIns"]?.arrayValue?.count == 2)
            #expect(impact.json["signInsTruncated"] == true)
            #expect((impact.json["evaluatedSignIns"]?.integerValue ?? 0) > 3, "the admin's sign-ins are replayed too")
            let inside = Self.policyBody("draft", include: ["billing"], exclude: [], locations: ["includeLocations": ["office"]])
            #expect(try await server.admin("POST", Self.base + "impact", json: ["policy": inside]).json["blockedSignIns"] == 0)
            #expect(try await server.admin("POST", Self.base + "impact", json: ["policy": draft, "days": 0]).status == 400)
            #expect(try await server.admin("POST", Self.base + "impact", json: ["days": 3]).status == 400)
        }
    }
}
