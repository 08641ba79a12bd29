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
}
