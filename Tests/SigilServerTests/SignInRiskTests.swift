import Foundation
import Logging
import SigilCore
import Testing

@testable import SigilServer
@testable import SigilStore

/// Issue 10, item 10: sign-in risk through the real token endpoint. The server trusts the test's
/// loopback connection as a proxy, so each request's `X-Forwarded-For` is the address it signs in from.
@Suite struct SignInRiskTests {
    static func start(learningPeriod: TimeInterval = 0, _ body: (TestServer) async throws -> Void) async throws {
        try await TestServer.with({ configuration in
            configuration.riskLearningPeriod = learningPeriod
            configuration.trustedProxies = TrustedProxies([IPNetwork("127.0.0.1/32")!, IPNetwork("::1/128")!])
        }, body)
    }

    static func signIn(_ server: TestServer, _ app: String, secret: String, from address: String) async throws {
        let appId = try #require(try await server.admin("GET", "applications/\(app)").json["appId"]?.stringValue)
        let reply = try await server.token(
            [("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://orders/.default")],
            headers: [("X-Forwarded-For", address)])
        #expect(reply.status == 200, "\(reply.json)")
    }

    static func detections(_ server: TestServer, _ app: String) async throws -> [JSONValue] {
        let appId = try #require(try await server.admin("GET", "applications/\(app)").json["appId"]?.stringValue)
        return try #require(try await server.admin("GET", "riskDetections?appId=\(appId)").json["value"]?.arrayValue)
    }

    static func evidence(_ detection: JSONValue, _ key: String) -> String? {
        detection["additionalInfo"]?.arrayValue?.first { $0["Key"]?.stringValue == key }?["Value"]?.stringValue
    }

    @Test func newNetworksAndFreshCredentialsFromThemAreDetected() async throws {
        try await Self.start { server in
            try await server.createApp("worker")
            try await server.createApp("api", identifierUri: "api://orders")
            let (_, secret) = try await server.addSecret("worker")
            func signIn(_ secret: String, from address: String) async throws { try await Self.signIn(server, "worker", secret: secret, from: address) }
            // The first sign-in starts the history; the same /24 again is nothing new.
            try await signIn(secret, from: "198.51.100.7")
            try await signIn(secret, from: "198.51.100.200")
            #expect(try await Self.detections(server, "worker").isEmpty)

            // Another network: suspiciousSignins, medium, once.
            try await signIn(secret, from: "203.0.113.5")
            try await signIn(secret, from: "203.0.113.77")
            var found = try await Self.detections(server, "worker")
            #expect(found.count == 1)
            let first = try #require(found.first)
            #expect(first["riskEventType"]?.stringValue == "suspiciousSignins" && first["riskLevel"]?.stringValue == "medium")
            #expect(Self.evidence(first, "network") == "203.0.113.0/24" && Self.evidence(first, "reason") == "newNetwork")
            #expect(first["ipAddress"]?.stringValue == "203.0.113.5" && first["source"]?.stringValue == "sign-in")
            #expect(try await server.admin("GET", "applications/worker").json["riskLevel"]?.stringValue == "medium")

            // A secret added just now and first used from a new network (IPv6, its /48): high.
            let (_, fresh) = try await server.addSecret("worker")
            try await signIn(fresh, from: "2001:db8:7:1::5")
            found = try await Self.detections(server, "worker")
            let addition = try #require(found.first { $0["riskEventType"]?.stringValue == "suspiciousCredentialAddition" })
            #expect(addition["riskLevel"]?.stringValue == "high" && Self.evidence(addition, "network") == "2001:db8:7::/48")
            #expect(found.count == 2)
            // An IPv4-mapped address is its IPv4 network, already known.
            try await signIn(secret, from: "::ffff:203.0.113.9")
            #expect(try await Self.detections(server, "worker").count == 2)
            #expect(try await server.admin("GET", "applications/worker").json["riskLevel"]?.stringValue == "high")
        }
    }

    @Test func duringTheLearningPeriodNothingIsSuspicious() async throws {
        try await Self.start(learningPeriod: 14 * 86_400) { server in
            try await server.createApp("learner")
            try await server.createApp("api", identifierUri: "api://orders")
            let (_, secret) = try await server.addSecret("learner")
            for address in ["198.51.100.7", "203.0.113.5", "2001:db8::1", "192.0.2.1"] {
                try await Self.signIn(server, "learner", secret: secret, from: address)
            }
            #expect(try await Self.detections(server, "learner").isEmpty)
            let history = try await server.store.signInHistory(servicePrincipalId: try #require(
                try await server.admin("GET", "applications/learner").json["servicePrincipalId"]?.stringValue))
            #expect(history.firstSignIn != nil && history.facts.filter { $0.kind == .network }.count == 4)
        }
    }

    @Test func aDismissalRacingANewDetectionLeavesTheNewOneAtRisk() async throws {
        try await Self.start { server in
            try await server.createApp("racer")
            try await server.createApp("api", identifierUri: "api://orders")
            let (_, secret) = try await server.addSecret("racer")
            let appId = try #require(try await server.admin("GET", "applications/racer").json["appId"]?.stringValue)
            let form = [("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://orders/.default")]
            _ = try await server.token(form, headers: [("X-Forwarded-For", "198.51.100.7")])
            _ = try await server.token(form, headers: [("X-Forwarded-For", "203.0.113.5")])
            let first = try #require(try await Self.detections(server, "racer").first?["id"]?.stringValue)
            async let dismissed = server.admin("POST", "riskDetections/\(first)/dismiss")
            async let signedIn = server.token(form, headers: [("X-Forwarded-For", "192.0.2.10")])
            #expect(try await dismissed.json["riskState"]?.stringValue == "dismissed")
            #expect(try await signedIn.status == 200)
            let states = Dictionary(uniqueKeysWithValues: try await Self.detections(server, "racer").compactMap { detection in
                detection["id"]?.stringValue.map { ($0, detection["riskState"]?.stringValue ?? "") }
            })
            #expect(states.count == 2 && states[first] == "dismissed" && states.values.filter { $0 == "atRisk" }.count == 1, "\(states)")
            #expect(try await server.admin("GET", "applications/racer").json["riskLevel"]?.stringValue == "medium")
        }
    }

    @Test func replicasSeeingTheSameNewNetworkRaiseOneDetection() async throws {
        try await Self.start { server in
            try await server.createApp("shared")
            let app = try await server.admin("GET", "applications/shared").json
            let spId = try #require(app["servicePrincipalId"]?.stringValue)
            let replicas = (0..<4).map { _ in SignInRiskDetector(store: server.store, rules: SignInRiskRules(learningPeriod: 0), logger: Logger(label: "replica")) }
            func observed(_ address: String) -> ObservedSignIn {
                ObservedSignIn(
                    tenantId: server.tenantId, servicePrincipalId: spId, appId: app["appId"]?.stringValue ?? "", time: Date(), ipAddress: address,
                    credentialType: "clientSecret", credentialId: "k1", credentialAddedAt: nil, correlationId: RandomIdentifier.uuid())
            }
            await replicas[0].observe(observed("198.51.100.7"))
            for replica in replicas { await replica.observe(observed("198.51.100.8")) }  // each loads the history once
            await withTaskGroup(of: Void.self) { group in
                for replica in replicas { group.addTask { await replica.observe(observed("203.0.113.5")) } }
            }
            #expect(try await Self.detections(server, "shared").count == 1)
        }
    }

    @Test func anAdministratorConfirmsACompromise() async throws {
        try await Self.start { server in
            try await server.createApp("stolen")
            let reply = try await server.admin("POST", "riskyServicePrincipals/stolen/confirmCompromised")
            #expect(reply.status == 201)
            #expect(reply.json["riskEventType"]?.stringValue == "adminConfirmedCompromised" && reply.json["riskState"]?.stringValue == "confirmedCompromised")
            let risky = try #require(try await server.admin("GET", "riskyServicePrincipals").json["value"]?.arrayValue)
            #expect(risky.map { $0["displayName"]?.stringValue } == ["stolen"] && risky.first?["riskLevel"]?.stringValue == "high")
            #expect(try await server.admin("POST", "riskyServicePrincipals/nobody/confirmCompromised").status == 404)
            let audit = try #require(try await server.admin("GET", "auditLogs").json["value"]?.arrayValue)
            #expect(audit.contains { $0["activityDisplayName"]?.stringValue == "servicePrincipal.confirmCompromised" })
        }
    }
}
