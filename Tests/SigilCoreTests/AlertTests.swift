import Foundation
import SigilCore
import Testing

@Suite struct AlertTests {
    static let thresholds = SpikeThresholds(perApp: 3, perTenant: 5, window: 300)
    static let window = AlertSpikeRule.window(containing: Date(timeIntervalSince1970: 1_700_000_123), length: 300)

    // MARK: Bad input first

    @Test func unknownKindsAndOutOfRangeDurationsAreRefused() {
        for names in [["riskdetection"], ["leakReport", "spike"], [""]] {
            #expect(throws: DirectoryRuleViolation.self, "\(names)") { try AlertRules.kinds(names) }
        }
        for text in ["PT0S", "PT0.5S", "P2D", "5m", "", "PT-5M"] {
            #expect(throws: DirectoryRuleViolation.self, "\(text)") { try AlertRules.window(text) }
        }
        for text in ["PT59S", "P366D", "30d"] {
            #expect(throws: DirectoryRuleViolation.self, "\(text)") { try AlertRules.expiringWithin(text) }
        }
    }

    @Test func noKindsMeansEveryKind() throws {
        #expect(try AlertRules.kinds([]) == Set(AlertKind.allCases))
        #expect(try AlertRules.kinds(["leakReport", "leakReport"]) == [.leakReport])
        #expect(try AlertRules.window("PT5M") == 300)
        #expect(try AlertRules.expiringWithin("P30D") == 30 * 86_400)
    }

    // MARK: The spike rule

    @Test func windowsAreAlignedToTheEpochSoEveryScanAgrees() {
        #expect(Self.window.start == Date(timeIntervalSince1970: 1_700_000_100))
        #expect(Self.window.end == Date(timeIntervalSince1970: 1_700_000_400))
        #expect(AlertSpikeRule.window(containing: Date(timeIntervalSince1970: 1_700_000_399.9), length: 300) == Self.window)
        #expect(AlertSpikeRule.window(containing: Date(timeIntervalSince1970: 1_700_000_400), length: 300).start == Self.window.end)
    }

    @Test func belowEveryThresholdNothingFires() {
        let spikes = AlertSpikeRule.spikes(failedByApp: ["a": 2, "b": 2], unattributed: 0, thresholds: Self.thresholds, window: Self.window, announced: [])
        #expect(spikes.isEmpty)
    }

    @Test func anAppAtItsThresholdAndATenantAtItsThresholdFireEach() {
        let spikes = AlertSpikeRule.spikes(failedByApp: ["a": 3, "b": 1], unattributed: 1, thresholds: Self.thresholds, window: Self.window, announced: [])
        #expect(spikes == [
            SignInSpike(appId: "a", count: 3, threshold: 3, window: Self.window),
            SignInSpike(appId: nil, count: 5, threshold: 5, window: Self.window),
        ])
    }

    @Test func unknownClientIdsCountForTheTenantOnly() {
        let spikes = AlertSpikeRule.spikes(failedByApp: [:], unattributed: 50, thresholds: Self.thresholds, window: Self.window, announced: [])
        #expect(spikes.map(\.appId) == [nil])
    }

    @Test func aSpikeFiresOncePerWindow() {
        let first = AlertSpikeRule.spikes(failedByApp: ["a": 9], unattributed: 0, thresholds: Self.thresholds, window: Self.window, announced: [])
        #expect(first.count == 2)
        let again = AlertSpikeRule.spikes(
            failedByApp: ["a": 12], unattributed: 0, thresholds: Self.thresholds, window: Self.window, announced: Set(first.map(\.announcement)))
        #expect(again.isEmpty, "more failures in the same window announce nothing new")
        let next = AlertSpikeRule.window(containing: Self.window.end, length: 300)
        let nextWindow = AlertSpikeRule.spikes(
            failedByApp: ["a": 3], unattributed: 0, thresholds: Self.thresholds, window: next, announced: Set(first.map(\.announcement)))
        #expect(nextWindow.map(\.appId) == ["a"], "the next window fires again")
        #expect(first[0].announcement == "app:a@1700000100000" && first[1].announcement == "tenant@1700000100000")
    }

    // MARK: Payloads

    @Test func aPayloadNamesWhatHappenedAndNeverASecret() throws {
        let credential = AlertCredential(
            appId: "app-1", servicePrincipalId: "sp-1", appDisplayName: "orders", credentialType: "password", keyId: "key-1", displayName: "ci",
            hint: "Ab1", thumbprint: nil, endDateTime: Date(timeIntervalSince1970: 1_702_592_000))
        let alert = Alert.secretAdded(credential, tenantId: "t1", time: Date(timeIntervalSince1970: 1_700_000_000.25))
        let payload = try #require(alert.payload.objectValue)
        #expect(Set(payload.keys) == ["id", "type", "time", "tenantId", "data"])
        #expect(payload["type"] == "secretAdded" && payload["tenantId"] == "t1" && payload["time"] == "2023-11-14T22:13:20.250Z")
        let data = try #require(payload["data"]?.objectValue)
        #expect(data["keyId"] == "key-1" && data["hint"] == "Ab1")
        #expect(Set(data.keys).isDisjoint(with: ["secret", "secretText", "value", "digest", "salt"]))
    }

    @Test func aLeakReportAndARiskDetectionAreTwoKinds() {
        let detection = RiskDetection(
            id: "d1", tenantId: "t1", servicePrincipalId: "sp-1", appId: "app-1", riskEventType: RiskDetection.leakedCredentials, riskLevel: .high,
            riskState: .atRisk, detectedAt: Date(timeIntervalSince1970: 1_700_000_000), updatedAt: Date(timeIntervalSince1970: 1_700_000_000),
            keyId: "key-1", source: "github", correlationId: "c1")
        let leak = Alert.leakReport(detection, hint: "Ab1")
        #expect(leak.kind == .leakReport && leak.data["hint"] == "Ab1" && leak.data["source"] == "github" && leak.data["keyId"] == "key-1")
        let risk = Alert.riskDetection(detection)
        #expect(risk.kind == .riskDetection && risk.data["riskEventType"] == "leakedCredentials" && risk.data["riskLevel"] == "high")
    }

    @Test func aSpikePayloadSaysItsScopeWindowAndCount() {
        let spike = SignInSpike(appId: nil, count: 7, threshold: 5, window: Self.window)
        let alert = Alert.signInSpike(spike, tenantId: "t1", time: Self.window.end)
        #expect(alert.data["scope"] == "tenant" && alert.data["appId"] == .null && alert.data["failedSignIns"] == .integer(7))
        #expect(alert.data["windowStart"] == "2023-11-14T22:15:00.000Z" && alert.data["windowEnd"] == "2023-11-14T22:20:00.000Z")
    }
}
