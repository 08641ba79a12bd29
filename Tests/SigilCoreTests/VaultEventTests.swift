import Foundation
import SigilCore
import Testing

@Suite struct VaultEventTests {
    static let event = VaultEvent(
        id: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64", type: .secretNearExpiry, time: Date(timeIntervalSince1970: 1_700_000_000.5),
        tenantId: "t1", vaultName: "payments", secretName: "db-password", version: "ee059b2bb5bc48398a53b168c6cdcb10",
        notBefore: nil, expires: Date(timeIntervalSince1970: 1_702_592_000.9))

    // MARK: Bad input first

    @Test func patternsOutsideTheNameAlphabetAreRefused() {
        for pattern in ["", "db_password", "db password", "db/*", String(repeating: "a", count: 128), "é*", "db[0-9]"] {
            #expect(throws: DirectoryRuleViolation.self, "\(pattern)") { try VaultEventFilter(pattern) }
        }
    }

    @Test func webhookURLsThatCannotBeSignedForOrLeakAreRefused() {
        let refused: [(String, Bool)] = [
            ("http://receiver.example.com/hook", false),  // plain HTTP to a public host
            ("ftp://receiver.example.com/hook", true),
            ("https://user:pass@receiver.example.com/hook", false),
            ("https://receiver.example.com/hook#x", false),
            ("/relative/hook", false),
            ("https://", false),
            ("https://receiver.example.com/\u{0}", false),
            ("https://receiver.example.com/" + String(repeating: "a", count: 2048), false),
        ]
        for (url, allowPrivate) in refused {
            #expect(throws: DirectoryRuleViolation.self, "\(url)") { try VaultEventRules.checkURL(url, allowPrivateNetwork: allowPrivate) }
        }
        #expect(throws: Never.self) { try VaultEventRules.checkURL("https://receiver.example.com/hook?code=1", allowPrivateNetwork: false) }
        #expect(throws: Never.self) { try VaultEventRules.checkURL("http://127.0.0.1:8080/hook", allowPrivateNetwork: true) }
    }

    @Test func nearExpiryLeadIsAMinuteToAYear() throws {
        for text in ["PT59S", "P366D", "30 days", "", "-P1D"] {
            #expect(throws: DirectoryRuleViolation.self, "\(text)") { try VaultEventRules.nearExpiryLead(text) }
        }
        #expect(try VaultEventRules.nearExpiryLead("P30D") == 30 * 86_400)
        #expect(try VaultEventRules.nearExpiryLead("PT1M") == 60)
    }

    // MARK: The Event Grid schema

    @Test func eventGridEventHasKeyVaultsShape() throws {
        let json = Self.event.eventGridEvent(vaultURL: "https://payments.vault.localhost:8443")
        let object = try #require(json.objectValue)
        #expect(Set(object.keys) == ["id", "topic", "subject", "eventType", "eventTime", "data", "dataVersion", "metadataVersion"])
        #expect(object["id"] == "00eccf70-95a7-4e7c-8299-2eb17ee9ad64")
        #expect(object["topic"] == "/subscriptions/t1/resourceGroups/sigil/providers/Microsoft.KeyVault/vaults/payments")
        #expect(object["subject"] == "db-password")
        #expect(object["eventType"] == "Microsoft.KeyVault.SecretNearExpiry")
        #expect(object["eventTime"] == "2023-11-14T22:13:20.500Z")
        #expect(object["dataVersion"] == "1")
        #expect(object["metadataVersion"] == "1")
        let data = try #require(object["data"]?.objectValue)
        #expect(data == [
            "Id": "https://payments.vault.localhost:8443/secrets/db-password/ee059b2bb5bc48398a53b168c6cdcb10",
            "VaultName": "payments", "ObjectType": "Secret", "ObjectName": "db-password", "Version": "ee059b2bb5bc48398a53b168c6cdcb10",
            "NBF": .null, "EXP": .integer(1_702_592_000),
        ])
        // Event Grid posts an array, even of one event.
        #expect(try JSONParser.parse(Array(Self.event.body(vaultURL: "https://v").utf8)).arrayValue?.count == 1)
    }

    @Test func storedEventReadsBackAndNothingElseDoes() throws {
        #expect(VaultEvent(stored: Self.event.stored) == VaultEvent(
            id: Self.event.id, type: Self.event.type, time: Date(timeIntervalSince1970: 1_700_000_000.5), tenantId: "t1", vaultName: "payments",
            secretName: "db-password", version: Self.event.version, notBefore: nil, expires: Date(timeIntervalSince1970: 1_702_592_000.9)))
        guard case .object(var broken) = Self.event.stored else { Issue.record("stored form is an object"); return }
        broken["type"] = "Microsoft.KeyVault.VaultAccessPolicyChanged"
        #expect(VaultEvent(stored: .object(broken)) == nil)
        #expect(VaultEvent(stored: "text") == nil)
    }

    // MARK: Filters and who receives what

    @Test func globsMatchNamesCaseInsensitively() throws {
        let cases: [(String, String, Bool)] = [
            ("db-password", "DB-Password", true), ("db-password", "db-password2", false), ("db-*", "db-", true), ("db-*", "db-orders", true),
            ("db-*", "api-db-orders", false), ("*-password", "orders-password", true), ("db-?", "db-1", true), ("db-?", "db-12", false),
            ("*", "anything", true), ("a*b*c", "aXbYbZc", true), ("a*b*c", "aXbYbZ", false), ("**x", "x", true),
        ]
        for (pattern, name, expected) in cases {
            #expect(try VaultEventFilter(pattern).matches(name) == expected, "\(pattern) ~ \(name)")
        }
    }

    @Test func aSubscriptionHearsOfVersionsCreatedAfterItOrMomentsPassingWhileItExists() throws {
        let created = Date(timeIntervalSince1970: 1000)
        let subscription = VaultEventSubscription(
            id: "s", vaultId: "v", url: "https://r.example.com", filter: try VaultEventFilter("db-*"), nearExpiryLead: 60, allowPrivateNetwork: false,
            createdAt: created)
        #expect(subscription.receives(secretName: "db-a", moment: created.addingTimeInterval(5), versionCreated: created.addingTimeInterval(-500)))
        #expect(subscription.receives(secretName: "db-a", moment: created.addingTimeInterval(-5), versionCreated: created.addingTimeInterval(1)))
        #expect(!subscription.receives(secretName: "db-a", moment: created.addingTimeInterval(-5), versionCreated: created.addingTimeInterval(-500)))
        #expect(!subscription.receives(secretName: "api-key", moment: created.addingTimeInterval(5), versionCreated: created.addingTimeInterval(5)))
    }

    // MARK: Signing and retries

    @Test func signatureIsHMACSHA256OverTimestampDotBody() {
        // Computed independently: Python's hmac.new(b"sgs_key", b'1700000000.[{"a":1}]', hashlib.sha256).
        #expect(VaultEventRules.signature(body: Array(#"[{"a":1}]"#.utf8), timestamp: 1_700_000_000, key: "sgs_key")
            == "t=1700000000,sha256=f5b19ff4b17c9694113f41665dcd2f10fa9f259429fcca731128568428532e13")
        #expect(VaultEventRules.signature(body: Array(#"[{"a":2}]"#.utf8), timestamp: 1_700_000_000, key: "sgs_key")
            != VaultEventRules.signature(body: Array(#"[{"a":1}]"#.utf8), timestamp: 1_700_000_000, key: "sgs_key"))
    }

    @Test func retryDelaysDoubleUpToTheCapWithJitterInTheUpperHalf() {
        #expect(VaultEventRules.retryDelay(afterAttempt: 1, base: 10, maximum: 3600, jitter: 0.999999) < 10.0001)
        #expect(VaultEventRules.retryDelay(afterAttempt: 1, base: 10, maximum: 3600, jitter: 0) == 5)
        #expect(VaultEventRules.retryDelay(afterAttempt: 4, base: 10, maximum: 3600, jitter: 1) == 80)
        #expect(VaultEventRules.retryDelay(afterAttempt: 4, base: 10, maximum: 3600, jitter: 0) == 40)
        #expect(VaultEventRules.retryDelay(afterAttempt: 30, base: 10, maximum: 3600, jitter: 1) == 3600)
        #expect(VaultEventRules.retryDelay(afterAttempt: 1000, base: 10, maximum: 3600, jitter: 0) == 1800)
    }

    @Test func onlySuccessAndRefusalsOfTheEventItselfEndADelivery() {
        for status in [200, 202, 204, 400, 413] { #expect(VaultEventRules.isFinal(status: status), "\(status)") }
        for status in [301, 401, 403, 404, 408, 429, 500, 503] { #expect(!VaultEventRules.isFinal(status: status), "\(status)") }
    }
}
