import Foundation
import SigilCore
@testable import SigilServer
import SigilStore
import Testing

/// Vault events end to end: a real server (SQLite, or PostgreSQL with SIGIL_TEST_POSTGRES_URL),
/// a real webhook receiver on loopback, and the outbox in the store.
@Suite struct VaultEventTests {
    /// Fast polling and retries, so the tests wait for milliseconds rather than seconds.
    static func fast(_ configuration: inout ServerConfiguration) {
        configuration.vaultEvents.pollInterval = .milliseconds(50)
        configuration.vaultEvents.retryBase = 0.05
        configuration.vaultEvents.maximumAttempts = 3
        configuration.outboundLimits.totalTimeout = .seconds(2)
    }

    static func seedAudit(_ server: TestServer) -> AuditEvent {
        AuditEvent(
            time: Date(), tenantId: server.tenantId, actorId: "test", actorName: "test", action: "seed", targetType: "vault", targetId: "seed",
            ipAddress: "127.0.0.1", correlationId: "seed")
    }

    static func makeVault(_ server: TestServer, _ name: String = "payments") async throws -> Vault {
        let vault = Vault(id: RandomIdentifier.uuid(), tenantId: server.tenantId, name: name, retentionDays: 90, purgeProtection: false, createdAt: Date())
        try await server.store.createVault(vault, audit: seedAudit(server))
        return vault
    }

    @discardableResult
    static func setSecret(_ server: TestServer, _ vault: Vault, _ name: String, expires: Date? = nil) async throws -> SecretVersion {
        let version = VaultRules.newVersion()
        let kek = server.server.kek.ring
        return try await server.store.setSecret(
            vaultId: vault.id, name: name,
            version: SecretVersion(secretName: name, version: version, properties: SecretProperties(expires: expires), createdAt: Date(), updatedAt: Date()),
            seal: { try kek.seal("value of \(name)", context: SecretEnvelope.context(secretId: $0, version: version)) }, audit: seedAudit(server))
    }

    /// Subscribes `url` through the admin API; returns the subscription's id and signing key.
    static func subscribe(_ server: TestServer, _ vault: Vault, _ url: String, _ extra: [String: JSONValue] = [:]) async throws -> (id: String, key: String) {
        var body: [String: JSONValue] = ["url": .string(url), "allowPrivateNetwork": true]
        body.merge(extra) { _, new in new }
        let reply = try await server.admin("POST", "vaults/\(vault.name)/eventSubscriptions", json: .object(body))
        guard reply.status == 201, let id = reply.json["id"]?.stringValue, let key = reply.json["secret"]?.stringValue else {
            throw TestFailure("subscribe: \(reply.status) \(reply.json)")
        }
        return (id, key)
    }

    /// Every delivery the outbox holds for a subscription, whatever its state.
    /// Every delivery of a subscription, whatever its state, in one read: the delivery service
    /// moves rows between states meanwhile, so a read per state could count one twice or miss it.
    static func deliveries(_ server: TestServer, _ subscription: String) async throws -> [VaultEventDelivery] {
        try await server.store.vaultEventDeliveries(subscriptionId: subscription, state: nil, limit: 1000)
    }

    // MARK: Bad input first

    @Test func badSubscriptionsAreRefusedAndChangeNothing() async throws {
        try await TestServer.with(Self.fast) { server in
            let vault = try await Self.makeVault(server)
            let path = "vaults/\(vault.name)/eventSubscriptions"
            let cases: [(JSONValue, String, String)] = [
                (["url": "http://receiver.example.com/hook"], "url", "must be https://"),
                (["url": "https://127.0.0.1:9/hook"], "url", "allowPrivateNetwork"),
                (["url": "https://10.1.2.3/hook"], "url", "allowPrivateNetwork"),
                (["url": "https://[::1]:9/hook"], "url", "allowPrivateNetwork"),
                (["url": "https://no-such-host.invalid/hook"], "url", "resolve"),
                (["url": "https://user:pw@receiver.example.com/hook"], "url", "user name"),
                (["url": "not a url"], "url", "absolute"),
                (["url": "https://receiver.example.com/hook", "secretName": "db_*"], "secretName", "wildcards"),
                (["url": "https://receiver.example.com/hook", "nearExpiry": "P2Y"], "nearExpiry", "PT1M to P365D"),
                (["url": "https://receiver.example.com/hook", "nearExpiry": 30], "nearExpiry", "string"),
                (["url": "https://receiver.example.com/hook", "secret": "sgs_chosen"], "secret", "Unknown field"),
                ([:], "url", "url"),
            ]
            for (body, target, says) in cases {
                let reply = try await server.admin("POST", path, json: body)
                #expect(reply.status == 400, "\(body) → \(reply.status) \(reply.json)")
                #expect(reply.json["error"]?["target"]?.stringValue == target, "\(body) → \(reply.json)")
                #expect(reply.json["error"]?["message"]?.stringValue?.contains(says) == true, "\(body) → \(reply.json)")
            }
            let unknown = try await server.admin("POST", "vaults/no-such-vault/eventSubscriptions", json: ["url": "https://receiver.example.com/hook"])
            #expect(unknown.status == 404)
            let missing = try await server.admin("GET", "\(path)/\(RandomIdentifier.uuid())")
            #expect(missing.status == 404)
            #expect(try await server.store.vaultEventSubscriptions(vaultId: vault.id).isEmpty)
        }
    }

    // MARK: Delivery

    @Test func aNewVersionIsDeliveredSignedInEventGridShapeToMatchingSubscriptionsOnly() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestServer.with(Self.fast) { server in
            let vault = try await Self.makeVault(server)
            let (id, key) = try await Self.subscribe(server, vault, receiver.url, ["secretName": "DB-*"])
            #expect(try SigilSecretFormat.validate(key).get() == .clientSecret)
            try await Self.setSecret(server, vault, "api-key")
            let version = try await Self.setSecret(server, vault, "db-password", expires: Date(timeIntervalSince1970: 1_900_000_000))
            #expect(await eventually { receiver.received.count >= 1 })
            try await Task.sleep(for: .milliseconds(200))
            #expect(receiver.received.count == 1, "api-key does not match DB-*")
            let received = try #require(receiver.received.first)

            let events = try #require(try JSONParser.parse(received.body).arrayValue)
            #expect(events.count == 1)
            let event = events[0]
            #expect(event["eventType"]?.stringValue == "Microsoft.KeyVault.SecretNewVersionCreated")
            #expect(event["subject"]?.stringValue == "db-password")
            #expect(event["topic"]?.stringValue == "/subscriptions/\(server.tenantId)/resourceGroups/sigil/providers/Microsoft.KeyVault/vaults/payments")
            let port = try #require(URLComponents(string: server.baseURL)?.port)
            #expect(event["data"]?["Id"]?.stringValue == "https://payments.vault.localhost:\(port)/secrets/db-password/\(version.version)")
            #expect(event["data"]?["Version"]?.stringValue == version.version)
            #expect(event["data"]?["EXP"]?.integerValue == 1_900_000_000)
            #expect(event["data"]?["NBF"] == .null)
            #expect(received.header("aeg-event-type") == "Notification")
            #expect(received.header("aeg-subscription-name") == id.uppercased())
            #expect(received.header("aeg-delivery-count") == "0")

            // The receiver's check: the signature over the timestamp and the exact body bytes.
            let header = try #require(received.header(VaultEventRules.signatureHeader))
            let timestamp = try #require(header.split(separator: ",").first.flatMap { Int64($0.dropFirst(2)) })
            #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 60)
            #expect(header == VaultEventRules.signature(body: received.body, timestamp: timestamp, key: key))
            #expect(header != VaultEventRules.signature(body: received.body + [0x20], timestamp: timestamp, key: key))
            #expect(header != VaultEventRules.signature(body: received.body, timestamp: timestamp + 1, key: key))

            // The key is shown once: not in reads, not in the audit log.
            let shown = try await server.admin("GET", "vaults/payments/eventSubscriptions/\(id)")
            #expect(shown.status == 200 && shown.json["secret"] == nil && shown.json["secretName"]?.stringValue == "DB-*")
            let listed = try await server.admin("GET", "vaults/payments/eventSubscriptions")
            #expect(listed.json["value"]?.arrayValue?.count == 1)
            let audit = try await server.admin("GET", "auditLogs")
            #expect(!String(decoding: audit.body + listed.body + shown.body, as: UTF8.self).contains(key))
            #expect(audit.json["value"]?.arrayValue?.contains { $0["activityDisplayName"]?.stringValue == "vaultEventSubscription.create" } == true)
        }
    }

    /// A subscription's signing key is sealed like a secret version: a KEK rotation re-wraps it,
    /// and deliveries go on signed with the same key under the new KEK.
    @Test func aKEKRotationReWrapsSubscriptionKeysAndDeliveriesGoOn() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestServer.with(Self.fast) { server in
            let vault = try await Self.makeVault(server)
            let (id, key) = try await Self.subscribe(server, vault, receiver.url)
            let before = try #require(try await server.store.sealedMaterial().subscriptionKeysByKek.keys.first)
            #expect(before == server.server.kek.ring.current.id)
            let rotated = try await server.admin("POST", "keyEncryptionKey/rotate")
            #expect(rotated.status == 200, "\(rotated.json)")
            let after = try await server.store.sealedMaterial()
            #expect(after.subscriptionKeysByKek == [server.server.kek.ring.current.id: 1] && before != server.server.kek.ring.current.id)
            try await Self.setSecret(server, vault, "db-password")
            #expect(await eventually { receiver.received.count >= 1 })
            let received = try #require(receiver.received.first)
            let header = try #require(received.header(VaultEventRules.signatureHeader))
            let timestamp = try #require(header.split(separator: ",").first.flatMap { Int64($0.dropFirst(2)) })
            #expect(header == VaultEventRules.signature(body: received.body, timestamp: timestamp, key: key), "subscription \(id) signs with its key")
        }
    }

    @Test func aFailingReceiverIsRetriedWithBackoffUntilItAccepts() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        receiver.answer([500, 503])
        try await TestServer.with(Self.fast) { server in
            let vault = try await Self.makeVault(server)
            let (id, _) = try await Self.subscribe(server, vault, receiver.url)
            try await Self.setSecret(server, vault, "db-password")
            #expect(await eventually { (try? await Self.deliveries(server, id).first?.state) == .delivered })
            let delivery = try #require(try await Self.deliveries(server, id).first)
            #expect(delivery.attempts == 3)
            #expect(receiver.received.map { $0.header("aeg-delivery-count") } == ["0", "1", "2"])
            // Every attempt carries the same event: a receiver drops duplicates by its id.
            let ids = Set(receiver.received.map { (try? JSONParser.parse($0.body))?.arrayValue?.first?["id"]?.stringValue })
            #expect(ids == [delivery.event.id])
        }
    }

    @Test func aDeliveryThatKeepsFailingIsDeadLetteredAndCanBeRedelivered() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        receiver.answer([500, 500, 500, 400])
        try await TestServer.with(Self.fast) { server in
            let vault = try await Self.makeVault(server)
            let (id, _) = try await Self.subscribe(server, vault, receiver.url)
            let path = "vaults/payments/eventSubscriptions/\(id)/deadLetters"
            try await Self.setSecret(server, vault, "db-password")
            #expect(await eventually { (try? await server.admin("GET", path).json["value"]?.arrayValue?.count) == 1 })
            // A 400 refuses the event itself: dead at once, without retries.
            try await Self.setSecret(server, vault, "api-key")
            #expect(await eventually { (try? await server.admin("GET", path).json["value"]?.arrayValue?.count) == 2 })
            #expect(receiver.received.count == 4)
            let dead = try #require(try await server.admin("GET", path).json["value"]?.arrayValue)
            let exhausted = try #require(dead.first { $0["subject"]?.stringValue == "db-password" })
            #expect(exhausted["attempts"]?.integerValue == 3 && exhausted["lastError"]?.stringValue == "HTTP 500" && exhausted["state"]?.stringValue == "dead")
            let refused = try #require(dead.first { $0["subject"]?.stringValue == "api-key" })
            #expect(refused["attempts"]?.integerValue == 1)

            let deliveryId = try #require(exhausted["id"]?.stringValue)
            let again = try await server.admin("POST", "\(path)/\(deliveryId)/redeliver")
            #expect(again.status == 200 && again.json["state"]?.stringValue == "pending" && again.json["attempts"]?.integerValue == 0)
            #expect(await eventually { (try? await Self.deliveries(server, id).first { $0.id == deliveryId }?.state) == .delivered })
            // Only a dead letter is redelivered: a delivered one, or another subscription's, is not found.
            #expect(try await server.admin("POST", "\(path)/\(deliveryId)/redeliver").status == 404)
            #expect(try await server.admin("POST", "\(path)/\(RandomIdentifier.uuid())/redeliver").status == 404)
            let audit = try await server.admin("GET", "auditLogs")
            #expect(audit.json["value"]?.arrayValue?.filter { $0["activityDisplayName"]?.stringValue == "vaultEventSubscription.redeliver" }.count == 1)

            #expect(try await server.admin("DELETE", "vaults/payments/eventSubscriptions/\(id)").status == 204)
            #expect(try await Self.deliveries(server, id).isEmpty, "removing a subscription drops its outbox")
            #expect(try await server.admin("GET", path).status == 404)
        }
    }

    @Test func aRestartMidDeliveryResumesFromTheStore() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        receiver.hang(true)
        let first = try await TestServer.start(configure: Self.fast)
        let database = first.server.configuration.database
        let vault = try await Self.makeVault(first)
        let (id, _) = try await Self.subscribe(first, vault, receiver.url)
        try await Self.setSecret(first, vault, "db-password")
        let reached = await eventually { receiver.received.count == 1 }
        // The process stops while the receiver holds the request: the attempt never completes.
        await first.stop(keepingData: true)
        #expect(reached)
        receiver.hang(false)

        let second = try await TestServer.start(folder: first.folder) { configuration in
            Self.fast(&configuration)
            configuration.database = database
        }
        let delivered = await eventually(within: 15) { (try? await Self.deliveries(second, id).first?.state) == .delivered }
        let delivery = try await Self.deliveries(second, id).first
        await second.stop()
        #expect(delivered)
        #expect(delivery?.attempts == 2, "the interrupted attempt counts, and its claim lapsed into one more")
        let ids = Set(receiver.received.map { (try? JSONParser.parse($0.body))?.arrayValue?.first?["id"]?.stringValue })
        #expect(receiver.received.count == 2 && ids.count == 1)
    }

    // MARK: Expiry

    @Test func nearExpiryAndExpiryAreAnnouncedOncePerVersionAndSubscription() async throws {
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestServer.with(Self.fast) { server in
            let vault = try await Self.makeVault(server)
            let now = Date()
            let (early, _) = try await Self.subscribe(server, vault, receiver.url)
            try await Self.setSecret(server, vault, "soon", expires: now.addingTimeInterval(10 * 86_400))
            try await Self.setSecret(server, vault, "gone", expires: now.addingTimeInterval(-3600))
            try await Self.setSecret(server, vault, "later", expires: now.addingTimeInterval(40 * 86_400))
            try await Self.setSecret(server, vault, "never")
            // Subscribed after the versions exist and after "soon" came within 30 days: told of
            // what happens from now on only, as Key Vault would.
            let (late, _) = try await Self.subscribe(server, vault, receiver.url)

            // Scans at once (the server's own scan may run in between too): each event goes out once.
            for _ in 0..<3 { try await server.store.announceExpiringSecrets(now: now.addingTimeInterval(1), limit: 500) }
            async let a: Int = server.store.announceExpiringSecrets(now: now.addingTimeInterval(11 * 86_400), limit: 500)
            async let b: Int = server.store.announceExpiringSecrets(now: now.addingTimeInterval(11 * 86_400), limit: 500)
            _ = try await (a, b)
            try await server.store.announceExpiringSecrets(now: now.addingTimeInterval(12 * 86_400), limit: 500)
            // A new version starts afresh: it has no expiry, so nothing more is announced for "soon".
            try await Self.setSecret(server, vault, "soon")
            try await server.store.announceExpiringSecrets(now: now.addingTimeInterval(13 * 86_400), limit: 500)

            func announced(_ subscription: String) async throws -> [String] {
                try await Self.deliveries(server, subscription).map { "\($0.event.type.rawValue.split(separator: ".").last!) \($0.event.secretName)" }.sorted()
            }
            #expect(try await announced(early) == [
                "SecretExpired gone", "SecretExpired soon", "SecretNearExpiry later", "SecretNearExpiry soon",
                "SecretNewVersionCreated gone", "SecretNewVersionCreated later", "SecretNewVersionCreated never",
                "SecretNewVersionCreated soon", "SecretNewVersionCreated soon",
            ])
            #expect(try await announced(late) == ["SecretExpired soon", "SecretNearExpiry later", "SecretNewVersionCreated soon"])
            let expiry = try await Self.deliveries(server, early).first { $0.event.type == .secretExpired && $0.event.secretName == "gone" }
            #expect(expiry?.event.expires.map { abs($0.timeIntervalSince(now.addingTimeInterval(-3600))) < 0.01 } == true)
        }
    }
}
