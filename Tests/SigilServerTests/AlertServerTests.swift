import Foundation
import SigilCore
import Testing

@testable import SigilServer
@testable import SigilStore

/// Alerts (issue 12, item 10): each trigger writes exactly one outbox row per subscription, and
/// the outbox is delivered by the vault events' delivery path to a real receiver on loopback.
@Suite struct AlertServerTests {
    /// Fast deliveries; scans only when a test runs one, so counts are exact.
    static func fast(_ configuration: inout ServerConfiguration) {
        configuration.vaultEvents.pollInterval = .milliseconds(50)
        configuration.vaultEvents.retryBase = 0.05
        configuration.vaultEvents.maximumAttempts = 3
        configuration.outboundLimits.totalTimeout = .seconds(1)
        configuration.alerts.scanInterval = 86_400
    }

    /// Subscribes `url` through the admin API; returns the subscription's id and signing key.
    static func subscribe(_ server: TestServer, _ url: String, _ extra: [String: JSONValue] = [:]) async throws -> (id: String, key: String) {
        var body: [String: JSONValue] = ["url": .string(url), "allowPrivateNetwork": true]
        body.merge(extra) { _, new in new }
        let reply = try await server.admin("POST", "alerts/subscriptions", json: .object(body))
        guard reply.status == 201, let id = reply.json["id"]?.stringValue, let key = reply.json["secret"]?.stringValue else {
            throw TestFailure("subscribe: \(reply.status) \(reply.json)")
        }
        return (id, key)
    }

    /// Every delivery of a subscription, whatever its state, in one read.
    static func deliveries(_ server: TestServer, _ subscription: String) async throws -> [WebhookDelivery] {
        try await server.store.webhookDeliveries(.alerts, subscriptionId: subscription, state: nil, limit: 1000)
    }

    static func data(_ delivery: WebhookDelivery) -> [String: JSONValue] { delivery.payload.objectValue?["data"]?.objectValue ?? [:] }

    // MARK: Bad input first

    @Test func badSubscriptionsAreRefusedAndChangeNothing() async throws {
        try await TestServer.with(Self.fast) { server in
            let bad: [(JSONValue, String)] = [
                (["url": "http://127.0.0.1:9/hook"], "url"),
                (["url": "https://127.0.0.1:9/hook"], "url"),
                (["url": "https://127.0.0.1:9/hook", "allowPrivateNetwork": true, "kinds": ["leakReport", "everything"]], "kinds"),
                (["url": "https://127.0.0.1:9/hook", "allowPrivateNetwork": true, "spikeApp": 0], "spikeApp"),
                (["url": "https://127.0.0.1:9/hook", "allowPrivateNetwork": true, "spikeTenant": 1_000_001], "spikeTenant"),
                (["url": "https://127.0.0.1:9/hook", "allowPrivateNetwork": true, "spikeWindow": "P2D"], "spikeWindow"),
                (["url": "https://127.0.0.1:9/hook", "allowPrivateNetwork": true, "expiringWithin": "PT1S"], "expiringWithin"),
                (["url": "https://127.0.0.1:9/hook", "allowPrivateNetwork": true, "secret": "mine"], "secret"),
            ]
            for (body, target) in bad {
                let reply = try await server.admin("POST", "alerts/subscriptions", json: body)
                #expect(reply.status == 400, "\(body) → \(reply.status) \(reply.json)")
                #expect(reply.json["error"]?["target"]?.stringValue == target, "\(body) → \(reply.json)")
            }
            #expect(try await server.store.alertSubscriptions(tenantId: server.tenantId).isEmpty)
            let unknown = RandomIdentifier.uuid()
            for (method, path) in [("GET", unknown), ("DELETE", unknown), ("GET", "\(unknown)/deadLetters"), ("POST", "\(unknown)/deadLetters/x/redeliver")] {
                #expect(try await server.admin(method, "alerts/subscriptions/\(path)").status == 404, "\(method) \(path)")
            }
        }
    }

    // MARK: Triggers: one outbox row each

    @Test func aRiskDetectionWritesOneSignedAlert() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestServer.with(Self.fast) { server in
            try await server.createApp("payments")
            let (id, key) = try await Self.subscribe(server, receiver.url, ["kinds": ["riskDetection"]])
            #expect(try await server.admin("POST", "riskyServicePrincipals/payments/confirmCompromised").status == 201)
            #expect(await eventually { (try? await Self.deliveries(server, id).first?.state) == .delivered })
            let deliveries = try await Self.deliveries(server, id)
            #expect(deliveries.count == 1 && deliveries.first?.eventType == "riskDetection")
            #expect(Self.data(deliveries[0])["riskEventType"] == "adminConfirmedCompromised")
            let received = try #require(receiver.received.first)
            #expect(received.header(AlertRules.typeHeader) == "riskDetection" && received.header(AlertRules.deliveryCountHeader) == "0")
            let header = try #require(received.header(VaultEventRules.signatureHeader))
            let timestamp = try #require(header.split(separator: ",").first.flatMap { Int64($0.dropFirst(2)) })
            #expect(header == VaultEventRules.signature(body: received.body, timestamp: timestamp, key: key))
            #expect(try JSONParser.parse(received.body) == deliveries[0].payload)
        }
    }

    @Test func aLeakReportWritesOneLeakReportAlertNamingTheSecretButNotItsValue() async throws {
        try await TestServer.with(Self.fast) { server in
            let world = try await World.make(server)
            let (id, _) = try await Self.subscribe(server, "http://127.0.0.1:9/hook")
            let leaked = LeakReportTests.sha256Hex(world.secret)
            #expect(try await LeakReportTests.report(server, [leaked]).status == 200)
            // Reported again: already revoked, so no second detection and no second alert.
            #expect(try await LeakReportTests.report(server, [leaked]).status == 200)
            let deliveries = try await Self.deliveries(server, id)
            #expect(deliveries.map(\.eventType) == ["leakReport"])
            let data = Self.data(try #require(deliveries.first))
            #expect(data["keyId"]?.stringValue == world.secretKeyId && data["hint"]?.stringValue == String(world.secret.dropFirst(4).prefix(3)))
            #expect(data["appId"]?.stringValue == world.clientId)
            #expect(!deliveries[0].payload.serialized().contains(world.secret))
        }
    }

    @Test func aSecretAddedToASecretlessTenantAlertsOnceAndNotWhenTheTenantHasSecrets() async throws {
        try await TestServer.with(Self.fast) { server in
            let (id, _) = try await Self.subscribe(server, "http://127.0.0.1:9/hook")
            let (leakOnly, _) = try await Self.subscribe(server, "http://127.0.0.1:9/other", ["kinds": ["leakReport"]])
            try await server.createApp("first")
            try await server.createApp("second")
            let (keyId, secret) = try await server.addSecret("first")
            _ = try await server.addSecret("second")
            _ = try await server.addSecret("first")
            let deliveries = try await Self.deliveries(server, id)
            #expect(deliveries.map(\.eventType) == ["secretAdded"], "only the tenant's first current secret is news")
            let data = Self.data(try #require(deliveries.first))
            #expect(data["keyId"]?.stringValue == keyId && data["credentialType"] == "password" && data["hint"]?.stringValue == String(secret.dropFirst(4).prefix(3)))
            #expect(!deliveries[0].payload.serialized().contains(secret))
            #expect(try await Self.deliveries(server, leakOnly).isEmpty, "a subscription receives only its kinds")
        }
    }

    @Test func aSpikeOfFailedSignInsAlertsOncePerWindowForTheAppAndTheTenant() async throws {
        try await TestServer.with(Self.fast) { server in
            let target = try await server.createApp("target")
            let quiet = try await server.createApp("quiet")
            _ = try await server.addSecret("target")
            _ = try await server.addSecret("quiet")
            let (id, _) = try await Self.subscribe(
                server, "http://127.0.0.1:9/hook", ["kinds": ["signInSpike"], "spikeApp": 3, "spikeTenant": 5, "spikeWindow": "P1D"])
            func fail(_ app: JSONValue) async throws {
                let reply = try await server.token([
                    ("grant_type", "client_credentials"), ("client_id", try #require(app["appId"]?.stringValue)),
                    ("client_secret", SigilSecretFormat.generate(.clientSecret)), ("scope", "api://sigil-admin/.default"),
                ])
                #expect(reply.status == 401, "\(reply.json)")
            }
            for _ in 0..<2 { try await fail(target) }
            try await fail(quiet)
            #expect(await eventually { (try? await server.store.signIns(tenantId: server.tenantId, query: LogQuery(succeeded: false)).count) == 3 })
            try await server.store.announceSignInSpikes(now: Date())
            #expect(try await Self.deliveries(server, id).isEmpty, "below both thresholds")

            for _ in 0..<2 { try await fail(target) }
            try await fail(quiet)
            #expect(await eventually { (try? await server.store.signIns(tenantId: server.tenantId, query: LogQuery(succeeded: false)).count) == 6 })
            async let a: Void = server.store.announceSignInSpikes(now: Date())
            async let b: Void = server.store.announceSignInSpikes(now: Date())
            _ = try await (a, b)
            for _ in 0..<3 { try await server.store.announceSignInSpikes(now: Date()) }
            let deliveries = try await Self.deliveries(server, id)
            #expect(deliveries.count == 2, "\(deliveries.map(\.payload))")
            let app = try #require(deliveries.first { Self.data($0)["scope"] == "app" })
            #expect(Self.data(app)["appId"] == target["appId"] && Self.data(app)["failedSignIns"] == .integer(4) && Self.data(app)["threshold"] == .integer(3))
            let tenant = try #require(deliveries.first { Self.data($0)["scope"] == "tenant" })
            #expect(Self.data(tenant)["failedSignIns"] == .integer(6) && Self.data(tenant)["appId"] == .null)
        }
    }

    @Test func aCredentialExpiringSoonIsAnnouncedOnce() async throws {
        try await TestServer.with(Self.fast) { server in
            try await server.createApp("payments")
            let (soon, _) = try await server.addSecret("payments", lifetime: "P10D")
            _ = try await server.addSecret("payments", lifetime: "P60D")
            let (id, _) = try await Self.subscribe(server, "http://127.0.0.1:9/hook", ["kinds": ["credentialExpiring"], "expiringWithin": "P30D"])
            async let a = server.store.announceExpiringCredentials(now: Date(), limit: 500)
            async let b = server.store.announceExpiringCredentials(now: Date(), limit: 500)
            _ = try await (a, b)
            for _ in 0..<3 { try await server.store.announceExpiringCredentials(now: Date(), limit: 500) }
            let deliveries = try await Self.deliveries(server, id)
            #expect(deliveries.map(\.eventType) == ["credentialExpiring"])
            #expect(Self.data(try #require(deliveries.first))["keyId"]?.stringValue == soon)
            // Once past its end it is expired, not expiring: nothing more.
            try await server.store.announceExpiringCredentials(now: Date().addingTimeInterval(90 * 86_400), limit: 500)
            #expect(try await Self.deliveries(server, id).count == 1)
        }
    }

    // MARK: Delivery outcomes

    @Test func aReceiverAnswering500IsRetriedUntilItAccepts() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        receiver.answer([500])
        try await TestServer.with(Self.fast) { server in
            let (id, _) = try await Self.subscribe(server, receiver.url)
            try await server.createApp("payments")
            _ = try await server.addSecret("payments")
            #expect(await eventually { (try? await Self.deliveries(server, id).first?.state) == .delivered })
            #expect(try await Self.deliveries(server, id).first?.attempts == 2)
            #expect(receiver.received.map { $0.header(AlertRules.deliveryCountHeader) } == ["0", "1"])
            #expect(Set(receiver.received.map(\.body)).count == 1, "every attempt sends the same bytes")
        }
    }

    @Test func aRedirectIsNotFollowedButRecordedAsAnErrorThenDeadLettered() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        receiver.answer([302, 307, 301, 200])
        try await TestServer.with(Self.fast) { server in
            let (id, _) = try await Self.subscribe(server, receiver.url)
            try await server.createApp("payments")
            _ = try await server.addSecret("payments")
            let path = "alerts/subscriptions/\(id)/deadLetters"
            #expect(await eventually { (try? await server.admin("GET", path).json["value"]?.arrayValue?.count) == 1 })
            let dead = try #require(try await server.admin("GET", path).json["value"]?.arrayValue?.first)
            #expect(dead["attempts"] == .integer(3) && dead["lastError"] == "HTTP 301" && dead["type"] == "secretAdded")
            #expect(receiver.received.count == 3, "one POST per attempt: no redirect was followed")

            let again = try await server.admin("POST", "\(path)/\(try #require(dead["id"]?.stringValue))/redeliver")
            #expect(again.status == 200 && again.json["state"] == "pending" && again.json["attempts"] == .integer(0))
            #expect(await eventually { (try? await Self.deliveries(server, id).first?.state) == .delivered })
            let audit = try await server.admin("GET", "auditLogs")
            #expect(audit.json["value"]?.arrayValue?.filter { $0["activityDisplayName"] == "alertSubscription.redeliver" }.count == 1)
        }
    }

    @Test func aSlowReceiverTimesOutIsRetriedAndDeadLetteredWithTheReason() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        receiver.hang(true)
        try await TestServer.with(Self.fast) { server in
            let (id, _) = try await Self.subscribe(server, receiver.url)
            try await server.createApp("payments")
            _ = try await server.addSecret("payments")
            #expect(await eventually(within: 20) { (try? await Self.deliveries(server, id).first?.state) == .dead })
            let dead = try #require(try await Self.deliveries(server, id).first)
            #expect(dead.attempts == 3 && dead.lastError?.contains("did not answer in time") == true, "\(dead)")
            #expect(receiver.received.count == 3)
            #expect(try await server.admin("DELETE", "alerts/subscriptions/\(id)").status == 204)
            #expect(try await Self.deliveries(server, id).isEmpty, "removing a subscription drops its outbox")
        }
    }
}
