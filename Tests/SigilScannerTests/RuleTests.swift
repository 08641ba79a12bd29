import Foundation
import SigilCore
import Testing
@testable import SigilScanner

/// Runs the built-in scanner over one text.
func scan(_ text: String, path: String = "file.txt") -> [Finding] {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { SecretScanner().findings(in: $0, source: ScanSource(path: path)) }
}

func rules(_ text: String, path: String = "file.txt") -> [String] {
    scan(text, path: path).map(\.rule.id)
}

/// A GitHub-style token with a correct checksum.
func githubToken(_ prefix: String, body: String = "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0") -> String {
    prefix + body + SigilSecretFormat.checksum(of: Array(body.utf8))
}

@Suite struct RuleTests {
    @Test func checksummedTokensAreFoundAndLookalikesAreNot() {
        let good = githubToken("ghp_")
        #expect(rules("token = \(good)\n") == ["github-pat"])
        let bad = String(good.dropLast(6)) + "AAAAAA"
        #expect(rules("x \(bad)\n").isEmpty)
        #expect(rules("npm: \(githubToken("npm_"))").contains("npm-token"))
        let sigil = SigilSecretFormat.generate(.clientSecret)
        #expect(rules("SIGIL=\(sigil)\n") == ["sigil-client-secret"])
        let tampered = String(sigil.dropLast()) + (sigil.last == "A" ? "B" : "A")
        #expect(rules("SIGIL=\(tampered)\n").isEmpty)
    }

    @Test func tokensMustStandAlone() {
        let key = "AKIA" + "Q3EGRZXKMPT7HLWB"
        #expect(rules("id: \(key)\n") == ["aws-access-key-id"])
        #expect(rules("id: X\(key)\n").isEmpty)
        #expect(rules("id: \(key)Q\n").isEmpty)
    }

    @Test func documentationExamplesAreNotSecrets() {
        #expect(rules("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n").isEmpty)
        #expect(rules("Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c").isEmpty)
        #expect(rules("stripe.api_key = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\"\n").isEmpty)
    }

    @Test func formatsWithAKeywordInTheMiddle() {
        #expect(rules("client_secret: abc8Q~" + "Zk3v9Qm2Lr7Tw1Yx5Pn8Hs4Jd6Fg0Bc2Ve" + "\n").contains("azure-client-secret"))
        #expect(rules("bot = \"5829137046:AA" + "Hk3v9Qm2Lr7Tw1Yx5Pn8Hs4Jd6Fg0Bc2V" + "\"\n") == ["telegram-bot-token"])
        #expect(rules("key = 7f3a9c1e5b2d8f4a6c0e9b3d7a1f5c2e-us14\n").contains("mailchimp-api-key"))
        // Digit and alphabet runs are fillers (issue 13): these shapes are examples.
        #expect(rules("bot = \"1234567890:AA" + "Hk3v9Qm2Lr7Tw1Yx5Pn8Hs4Jd6Fg0Bc2V" + "\"\n").isEmpty)
        #expect(rules("key = 0123456789abcdef0123456789abcdef-us14\n").isEmpty)
    }

    @Test func privateKeysButNotPublicKeysOrCertificates() {
        let body = String(repeating: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n", count: 4)
        #expect(rules("-----BEGIN PRIVATE KEY-----\n\(body)-----END PRIVATE KEY-----\n") == ["private-key"])
        #expect(rules("-----BEGIN OPENSSH PRIVATE KEY-----\n\(body)-----END OPENSSH PRIVATE KEY-----\n") == ["openssh-private-key"])
        #expect(rules("-----BEGIN PUBLIC KEY-----\n\(body)-----END PUBLIC KEY-----\n").isEmpty)
        #expect(rules("-----BEGIN CERTIFICATE-----\n\(body)-----END CERTIFICATE-----\n").isEmpty)
        #expect(rules("-----BEGIN RSA PRIVATE KEY-----\n...your key here...\n-----END RSA PRIVATE KEY-----\n").isEmpty)
        let escaped = "{\"key\": \"-----BEGIN PRIVATE KEY-----\\n" + body.replacingOccurrences(of: "\n", with: "\\n") + "-----END PRIVATE KEY-----\\n\"}"
        #expect(rules(escaped) == ["private-key"])
    }

    @Test func serviceAccountKeyWinsOverItsPEM() {
        let body = String(repeating: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", count: 4)
        let json = """
            {
              "type": "service_account",
              "project_id": "billing-prod",
              "private_key": "-----BEGIN PRIVATE KEY-----\\n\(body)\\n-----END PRIVATE KEY-----\\n",
              "client_email": "svc@billing-prod.iam.gserviceaccount.com"
            }
            """
        let found = scan(json)
        #expect(found.map(\.rule.id) == ["gcp-service-account-key"])
        #expect(found.first?.line == 4)
    }

    @Test func assignmentsAreJudgedByNameAndValue() {
        #expect(rules("db_password = \"Tr0ub4dor&3xq\"\n") == ["generic-password"])
        #expect(rules("  password: s3cr3t-Passw0rd\n") == ["generic-password"])
        #expect(rules("export API_TOKEN=8f2Kq9ZmX4vT7bN1cR5wL3yH6jD0pS2a\n") == ["generic-secret"])
        #expect(rules("\"client_secret\": \"q8Z3mK9vT2xR7bN4cL1wH6yJ0dP5sF8g\",\n") == ["generic-secret"])
        #expect(rules("<password>Winter2024!xyz</password>\n") == ["generic-password"])
        // References, placeholders, words, hashes and comparisons are not.
        for text in [
            "db_password = os.environ[\"DB_PASSWORD\"]\n", "password = get_password()\n", "password: ${DB_PASSWORD}\n",
            "token = process.env.TOKEN\n", "password = \"<your-password>\"\n", "PASSWORD_MIN_LENGTH = 12\n",
            "password_hash = \"5f4dcc3b5aa765d61d8327deb882cf99\"\n", "if token == expected_token:\n",
            "token_type = \"Bearer\"\n", "password = \"changeme\"\n", "secret_name = \"prod-db-password\"\n",
            "\"forgot_password\": \"Forgot your password?\",\n", "password = \"\"\n", "api_key_header = \"X-API-Key\"\n",
            "client_id = \"8f2b7c1e-4d3a-4b5c-9e8f-1a2b3c4d5e6f\"\n", "password: {{ .Values.db.password }}\n",
        ] {
            #expect(rules(text).isEmpty, "\(text)")
        }
    }

    @Test func assignmentFormsAcrossLanguages() {
        let value = "Vq8!rT3zLm9w"
        for text in [
            "<add key=\"SmtpPassword\" value=\"\(value)\" />\n", "define( 'DB_PASSWORD', '\(value)' );\n",
            "CREATE ROLE reporting WITH LOGIN PASSWORD '\(value)';\n",
            "SECRET = os.environ.get(\"APP_SECRET\", \"\(value)x9Kq2mZ7\")\n",
            "password: Environment.get(\"DB_PASSWORD\") ?? \"\(value)\",\n",
            "jwtSecret: process.env.NODE_ENV === \"production\" ? undefined : \"\(value)x9Kq2mZ7\",\n",
        ] {
            #expect(!rules(text, path: "app.py").isEmpty, "\(text)")
        }
        #expect(rules("machine git.internal\n  login ci\n  password \(value)\n", path: ".netrc") == ["generic-password"])
        // Not values: interpolations, identifiers, a lookup's key, unrelated literals later on the line.
        for text in [
            "let token = \"\\(header).\\(payload).AAAA\"\n", "passphrase = \"makesTheBananaEdible\"\n",
            "TOTP(secret: secret, length: 8).compute(date: f(from: \"2005-03-18T01:58:29Z\"))\n",
            "{\"dhSinglePass-stdDH-sha1kdf-scheme\", \"dhSinglePass-stdDH-sha1kdf-scheme\"},\n",
        ] {
            #expect(rules(text, path: "app.swift").isEmpty, "\(text)")
        }
    }

    @Test func urlAndConnectionStringPasswords() {
        #expect(rules("DATABASE_URL=postgres://orders:Xk9#mQ2vLp7z@db.internal:5432/orders\n") == ["url-password"])
        #expect(rules("url = \"https://user:password@example.com/\"\n").isEmpty)
        #expect(rules("\"Server=tcp:sql.internal,1433;Database=orders;User ID=app;Password=Vq8!rT3zLm9w;\"\n") == ["connection-string-password"])
        let key = String(repeating: "Ab3dE6gH9jK2mN5pQ8sT1vW4", count: 4).prefix(86) + "=="
        #expect(rules("DefaultEndpointsProtocol=https;AccountName=billing;AccountKey=\(key);EndpointSuffix=core.windows.net\n") == ["azure-storage-connection-string"])
        #expect(rules("AccountEndpoint=https://orders.documents.azure.com:443/;AccountKey=\(key);\n") == ["azure-cosmosdb-key"])
    }

    @Test func allowMarkerSuppressesItsLineOnly() {
        let token = githubToken("ghp_")
        #expect(rules("a = \"\(token)\" # sigil:allow\nb = \"\(token)\"\n") == ["github-pat"])
    }

    @Test func findingsCarryLineColumnRedactionAndNoSecret() throws {
        let token = githubToken("ghp_")
        let finding = try #require(scan("one\ntwo\n  héllo = \"\(token)\"\n").first)
        #expect(finding.line == 3)
        #expect(finding.column == 12)
        #expect(finding.redacted == "ghp_*****")
        let report = ScanReport(findings: [finding])
        #expect(!report.json().contains(token))
        #expect(!report.sarif(toolVersion: "0").contains(token))
        #expect(!report.text(colour: false).contains(token))
    }

    @Test func fingerprintsSurviveLineMovesButNotValueChanges() {
        let token = githubToken("ghp_")
        let before = scan("x = \"\(token)\"\n")
        let after = scan("\n\n\n# moved\nx = \"\(token)\"\n")
        #expect(before.first?.fingerprint == after.first?.fingerprint)
        let other = scan("x = \"\(githubToken("ghp_", body: "Zz3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0"))\"\n")
        #expect(other.first?.fingerprint != before.first?.fingerprint)
    }

    @Test func everyDocumentedRuleIdExists() throws {
        let document = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/SigilScannerTests/RuleTests.swift", with: "docs/scanner-rules.md"), encoding: .utf8)
        let documented = Set(document.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return line.split(separator: "`")[1].description
        })
        let built = Set(BuiltinRules.rules.map(\.id))
        #expect(documented == built)
        #expect(built.count >= 40)
    }
}
