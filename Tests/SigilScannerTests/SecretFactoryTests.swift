import Foundation
import Testing

/// The corpus generators of issue 13 give values with the structure of the real formats: a scanner
/// that decodes or verifies them (Sentry's, 1Password's and Grafana's JSON, the glsa_ checksum,
/// Jenkins' blob, the encoded placeholders) must find what a real token holds.
@Suite struct SecretFactoryTests {
    static let seeds: [UInt64] = Array(1...40)

    static func values(_ name: String) -> [String] {
        seeds.map { seed in
            var rng = SeededGenerator(seed: seed)
            return SecretFactory.make(rule: name, using: &rng)
        }
    }

    /// Standard or URL-safe base64, padded or not.
    static func decode(_ text: some StringProtocol) -> Data? {
        var text = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }

    static func json(_ text: some StringProtocol) -> [String: Any]? {
        decode(text).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    @Test func sentryOrganisationTokensCarryTheirClaims() throws {
        for value in Self.values("sentry-token-org") {
            let parts = value.split(separator: "_")
            #expect(parts.count == 3 && parts[0] == "sntrys", "\(value)")
            let claims = try #require(Self.json(parts[1]), "\(value)")
            #expect(claims["iat"] != nil)
            #expect(["url", "region_url", "org"].allSatisfy { claims[$0] is String })
            #expect(parts[2].count == 43)
        }
        for value in Self.values("sentry-token-user") {
            #expect(value.hasPrefix("sntryu_") && value.count == 7 + 64 && value.dropFirst(7).allSatisfy(\.isHexDigit))
        }
    }

    @Test func onePasswordAndGrafanaTokensAreBase64JSON() throws {
        for value in Self.values("onepassword-service-account-token") {
            #expect(value.hasPrefix("ops_eyJ"))
            let object = try #require(Self.json(value.dropFirst(4)), "\(value)")
            #expect(object["signInAddress"] is String && object["secretKey"] is String && object["email"] is String)
        }
        for value in Self.values("grafana-api-key") {
            #expect(value.hasPrefix("eyJrIjoi"))
            let object = try #require(Self.json(value))
            #expect((object["k"] as? String)?.count == 32 && object["n"] is String && object["id"] != nil)
        }
        for value in Self.values("grafana-cloud-token") {
            #expect(value.hasPrefix("glc_eyJ"))
            let object = try #require(Self.json(value.dropFirst(4)))
            #expect(object["o"] is String && object["k"] is String && object["m"] is [String: Any])
        }
    }

    @Test func grafanaServiceAccountTokensCarryTheirChecksum() {
        for value in Self.values("grafana-service-account-token") {
            let parts = value.split(separator: "_")
            #expect(parts.count == 3 && parts[0] == "glsa" && parts[1].count == 32 && parts[2].count == 8, "\(value)")
            let crc = SecretFactory.crc32(Array(("glsa_" + parts[1]).utf8))
            let littleEndian = [crc & 0xFF, crc >> 8 & 0xFF, crc >> 16 & 0xFF, crc >> 24].map { String(format: "%02x", $0) }.joined()
            #expect(String(parts[2]) == littleEndian)
        }
    }

    @Test func jenkinsBlobsHaveTheirHeader() throws {
        for value in Self.values("jenkins-encrypted-secret") {
            #expect(value.hasPrefix("{AQAAABAAAA") && value.hasSuffix("}"))
            let bytes = try #require(Self.decode(value.dropFirst().dropLast())).map { $0 }
            let length = Int(bytes[5]) << 24 | Int(bytes[6]) << 16 | Int(bytes[7]) << 8 | Int(bytes[8])
            #expect(bytes[0] == 1 && bytes[1...4] == [0, 0, 0, 16] && bytes.count == 9 + 16 + length && length % 16 == 0)
        }
    }

    @Test func slackAndFixedLengthFormats() {
        for value in Self.values("slack-config-token") {
            let body = value.hasPrefix("xoxe-1-") ? value.dropFirst(7) : value.dropFirst(12)
            #expect(value.hasPrefix("xoxe-1-") ? body.count == 146 : (163...166).contains(body.count), "\(value)")
            #expect(body.allSatisfy { $0.isLetter || $0.isNumber })
        }
        for value in Self.values("slack-legacy-token-bot") {
            #expect(value.split(separator: "-").count == 3 && value.hasPrefix("xoxb-"))
        }
        for value in Self.values("cloudflare-origin-ca-key") {
            let parts = value.split(separator: "-")
            #expect(parts.count == 3 && parts[0] == "v1.0" && parts[1].count == 24 && parts[2].count == 146)
        }
        for value in Self.values("huggingface-org-token") {
            #expect(value.hasPrefix("api_org_") && value.dropFirst(8).count == 34 && value.dropFirst(8).allSatisfy(\.isLetter))
        }
        for value in Self.values("sidekiq-credential") {
            #expect(value.count == 17 && value.split(separator: ":").allSatisfy { $0.count == 8 && $0.allSatisfy(\.isHexDigit) })
        }
    }

    @Test func encodedPlaceholdersDecodeToTheirValue() throws {
        for value in Self.values("private-key-base64") + Self.values("private-key-rsa4096-base64") {
            let text = try #require(Self.decode(value).flatMap { String(data: $0, encoding: .utf8) })
            #expect(text.hasPrefix("-----BEGIN ") && text.hasSuffix("-----\n"))
        }
        #expect(Self.values("private-key-rsa4096-base64").allSatisfy { $0.count > 4_000 })
        for value in Self.values("docker-registry-auth") {
            let text = try #require(Self.decode(value).flatMap { String(data: $0, encoding: .utf8) })
            #expect(text.split(separator: ":", maxSplits: 1).count == 2)
        }
        #expect(SecretFactory.labelRule(for: "github-pat-base64") == "github-pat")
        #expect(SecretFactory.labelRule(for: "docker-config-json-base64") == "docker-registry-auth")
        #expect(SecretFactory.labelRule(for: "nonsense-base64") == nil)
        #expect(SecretFactory.literal("Harbor!2024", placeholder: "generic-password-base64") == "SGFyYm9yITIwMjQ=")
        #expect(SecretFactory.literal("Harbor!2024", placeholder: "generic-password") == "Harbor!2024")
    }

    /// A generated positive never holds a filler of shape 8, which would make it a placeholder.
    @Test func positivesHoldNoFiller() {
        let fillers = ["abcdef", "123456", "xyz", "abc123", "a1b2c3", "1a2b3c", "qwerty"]
        for rule in SecretFactory.ruleIDs + Array(SecretFactory.aliases.keys) {
            for value in Self.values(rule) {
                #expect(!fillers.contains { value.lowercased().contains($0) }, "\(rule): \(value.prefix(80))")
            }
        }
    }
}
