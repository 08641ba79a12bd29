import Crypto
import Foundation
import Testing

@testable import SigilCore

@Suite struct RiskTests {
    @Test func aReportedSHA256MatchesOnlyItsOwnSaltedHash() throws {
        let secrets = (0..<50).map { _ in SigilSecretFormat.generate(.clientSecret) }
        let hashes = secrets.map(SecretHash.make(for:))
        for (index, secret) in secrets.enumerated() {
            let hex = SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
            let reported = try LeakReport.parseSHA256(hex, index: 0)
            #expect(LeakReport.match(reported, in: hashes) == index)
        }
        let stranger = Data(SHA256.hash(data: Data(SigilSecretFormat.generate(.clientSecret).utf8)))
        #expect(LeakReport.match(stranger, in: hashes) == nil)
        // The same secret under two salts is two different stored digests, both found.
        let twice = [SecretHash.make(for: secrets[0]), SecretHash.make(for: secrets[0])]
        #expect(twice[0].digest != twice[1].digest)
        #expect(LeakReport.match(Data(SHA256.hash(data: Data(secrets[0].utf8))), in: twice) != nil)
    }

    @Test func reportedHashesMustBeExactlyLowercaseHex() {
        let good = String(repeating: "0123456789abcdef", count: 4)
        #expect((try? LeakReport.parseSHA256(good, index: 0))?.count == 32)
        let refusals: [(String, String)] = [
            (String(good.dropLast()), "is 63 characters"), (good + "0", "is 65 characters"), ("", "is 0 characters"),
            (good.uppercased(), "uppercase"), (String(repeating: "z", count: 64), "only 0-9 and a-f"),
            (String(good.dropLast(2)) + "é", "only 0-9 and a-f"),
            (SigilSecretFormat.generate(.clientSecret), "send only its SHA-256"),
        ]
        for (text, says) in refusals {
            #expect(throws: DirectoryRuleViolation.self) { try LeakReport.parseSHA256(text, index: 3) }
            do {
                _ = try LeakReport.parseSHA256(text, index: 3)
            } catch {
                #expect(error.message.contains(says), "\(text): \(error.message)")
                #expect(error.message.hasPrefix("sha256[3]"))
                #expect(text.isEmpty || !error.message.contains(text), "the value is echoed")
            }
        }
    }

    @Test func aServicePrincipalsRiskIsItsHighestActiveDetection() {
        #expect(ServicePrincipalRisk(detections: []) == .clean)
        #expect(ServicePrincipalRisk(detections: [(.high, .atRisk), (.low, .atRisk)]) == .init(level: .high, state: .atRisk))
        #expect(ServicePrincipalRisk(detections: [(.high, .dismissed), (.medium, .atRisk)]) == .init(level: .medium, state: .atRisk))
        #expect(ServicePrincipalRisk(detections: [(.high, .dismissed)]) == .init(level: .none, state: .dismissed))
        #expect(ServicePrincipalRisk(detections: [(.low, .confirmedCompromised), (.medium, .atRisk)]) == .init(level: .high, state: .confirmedCompromised))
        #expect(ServicePrincipalRisk(detections: [(.high, .remediated)]) == .init(level: .none, state: .remediated))
    }

    @Test func aScanBypassIsBounded() {
        let finding = ScanBypass.Finding(rule: "sigil-client-secret", file: "a.env", line: 1, fingerprint: "f")
        #expect(throws: Never.self) { try ScanBypass(reason: "fixture\nsecond line", repository: "r", ref: nil, findings: [finding]).check() }
        let refused: [(ScanBypass, String)] = [
            (ScanBypass(reason: " \n", repository: "r", ref: nil, findings: [finding]), "reason must not be empty"),
            (ScanBypass(reason: "a\u{7}b", repository: "r", ref: nil, findings: [finding]), "control characters"),
            (ScanBypass(reason: "ok", repository: "", ref: nil, findings: [finding]), "repository must be 1–512"),
            (ScanBypass(reason: "ok", repository: "r", ref: String(repeating: "x", count: 257), findings: [finding]), "ref must be 1–256"),
            (ScanBypass(reason: "ok", repository: "r", ref: nil, findings: []), "give at least one"),
            (ScanBypass(reason: "ok", repository: "r", ref: nil, author: "Dana\u{1b}[31m <d@x>", findings: [finding]), "author must be 1–256"),
            (ScanBypass(reason: "ok", repository: "r", ref: nil, findings: [.init(rule: "r", file: "f", line: 1, fingerprint: String(repeating: "x", count: 129))]),
                "findings[0].fingerprint must be 1–128"),
        ]
        for (bypass, says) in refused {
            do {
                try bypass.check()
                Issue.record("accepted: \(says)")
            } catch {
                #expect(error.message.contains(says), "\(error.message)")
            }
        }
    }

    @Test func signInNetworksAreTheSlash24OrSlash48() {
        #expect(SignInNetwork.of("203.0.113.77") == "203.0.113.0/24")
        #expect(SignInNetwork.of("::ffff:203.0.113.77") == "203.0.113.0/24")
        #expect(SignInNetwork.of("2001:db8:7:1::5") == "2001:db8:7::/48")
        #expect(SignInNetwork.of("2001:db8:7:ffff:1:2:3:4") == "2001:db8:7::/48")
        #expect(SignInNetwork.of("local") == nil && SignInNetwork.of("") == nil && SignInNetwork.of("999.1.1.1") == nil)
    }

    @Test func signInRulesLearnFirstThenJudge() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let rules = SignInRiskRules(learningPeriod: 86_400)
        func signIn(_ address: String, after seconds: TimeInterval, type: String = "clientSecret", credential: String = "k1", addedAt: Date? = nil)
            -> ObservedSignIn
        {
            ObservedSignIn(
                tenantId: "t", servicePrincipalId: "sp", appId: "a", time: start.addingTimeInterval(seconds), ipAddress: address, credentialType: type,
                credentialId: credential, credentialAddedAt: addedAt, correlationId: "c")
        }
        // The first sign-in: facts, no finding.
        let first = rules.assess(signIn("198.51.100.7", after: 0), history: SignInHistory())
        #expect(first.finding == nil && first.facts.contains(SignInFact(.firstSignIn, "")) && first.facts.contains(SignInFact(.network, "198.51.100.0/24")))
        var history = SignInHistory(firstSignIn: start, facts: Set(first.facts.filter { $0.kind != .firstSignIn }))
        // Within the learning period a new network is learned, not judged.
        #expect(rules.assess(signIn("203.0.113.5", after: 3600), history: history).finding == nil)
        // After it: a new network is medium, a new network and credential type together high.
        #expect(rules.assess(signIn("203.0.113.5", after: 90_000), history: history).finding?.riskLevel == .medium)
        let both = rules.assess(signIn("203.0.113.5", after: 90_000, type: "certificate", credential: "thumb"), history: history).finding
        #expect(both?.riskEventType == SignInRiskRules.suspiciousSignins && both?.riskLevel == .high)
        #expect(both?.evidence.first == RiskEvidence(key: "reason", value: "newNetwork,newCredentialType"))
        // Known network, known type: nothing.
        #expect(rules.assess(signIn("198.51.100.99", after: 90_000), history: history).finding == nil)
        // A credential added an hour before its first use from a new network: suspiciousCredentialAddition.
        let added = start.addingTimeInterval(86_400)
        let fresh = rules.assess(signIn("192.0.2.1", after: 90_000, credential: "k2", addedAt: added), history: history).finding
        #expect(fresh?.riskEventType == SignInRiskRules.suspiciousCredentialAddition && fresh?.riskLevel == .high)
        #expect(fresh?.trigger == [SignInFact(.credential, "k2"), SignInFact(.network, "192.0.2.0/24")])
        // Older than a day, or from a known network: not an addition.
        #expect(rules.assess(signIn("192.0.2.1", after: 200_000, credential: "k2", addedAt: added), history: history).finding?.riskEventType
            == SignInRiskRules.suspiciousSignins)
        history.facts.insert(SignInFact(.network, "192.0.2.0/24"))
        #expect(rules.assess(signIn("192.0.2.1", after: 90_000, credential: "k2", addedAt: added), history: history).finding == nil)
    }
}
