import Foundation
import SigilCore
import Testing
@testable import SigilScanner

/// The shapes of issue 13 (secrets whose meaning comes from context) and its new token formats:
/// for each, hard negatives first, then positives with the line they are reported on.

/// `(rule, line)` of every finding.
private func found(_ text: String, path: String = "file.txt") -> [String] {
    scan(text, path: path).map { "\($0.rule.id):\($0.line)" }
}

private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

/// Deterministic letters and digits with no runs or stems (a small LCG over a shuffled alphabet).
private func randomish(_ count: Int, seed: UInt64, alphabet: String = "Qm7vK2pXtR4wZ8nL3sD6fH1jB5cV0gYeTaUoPiWqErNbMhJkGdFs9") -> String {
    let letters = Array(alphabet)
    var state = seed &* 6364136223846793005 &+ 1442695040888963407
    var result = ""
    for _ in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        result.append(letters[Int((state >> 33) % UInt64(letters.count))])
    }
    return result
}

private let password = "Vq8!rT3zLm9w"
private let secret = "q8Z3mK9vT2xR7bN4cL1wH6yJ0dP5sF8g"
private let pemBody = String(repeating: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n", count: 4)
private let pem = "-----BEGIN PRIVATE KEY-----\n\(pemBody)-----END PRIVATE KEY-----\n"
private let certificate = "-----BEGIN CERTIFICATE-----\n\(pemBody)-----END CERTIFICATE-----\n"

@Suite struct SplitLineTests {
    @Test func blocksWithoutALiteralAreNotSecrets() {
        for text in [
            "variable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n",
            "variable \"db_password\" {\n  default = null\n}\n",
            "variable \"db_password\" {\n  default = \"\"\n}\n",
            "variable \"db_password_length\" {\n  default = \"\(password)\"\n}\n",
            "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db\n        key: password\n",
            "env:\n  - name: LOG_LEVEL\n    value: \(password)\n",
            "env:\n  - name: DB_PASSWORD\n  - name: LOG_LEVEL\n    value: \(password)\n",
            "smtp_relay_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162636465666768\n",
            "password:\n  min_length: 12\n  require_symbols: true\n",
            "secrets:\n  db_password:\n    file: ./secrets/db_password.txt\n",
            "credentials:\n  username: deploy-bot\n  region: eu-west-1\n",
            "api_token: |\n  line one of a text\n  line two of a text\n",
            "api_key:\n  first: one\n  second: two\n", "api_key:\n  two words\n",
        ] {
            #expect(found(text, path: "main.tf").isEmpty, "\(text)")
        }
    }

    @Test func valuesBelowTheirNameAreReportedOnTheirOwnLine() {
        #expect(found("variable \"db_password\" {\n  description = \"Database password\"\n  type        = string\n  sensitive   = true\n  default     = \"\(password)\"\n}\n", path: "variables.tf") == ["generic-password:5"])
        #expect(found("env:\n  - name: SESSION_SECRET\n    value: \"\(secret)\"\n  - name: LOG_LEVEL\n    value: debug\n", path: "deploy.yaml") == ["generic-secret:3"])
        #expect(found("env:\n- name: DB_PASSWORD\n  value: \(password)\n", path: "deploy.yaml") == ["generic-password:3"])
        #expect(found("database:\n  password:\n    value: \(password)\n", path: "values.yaml") == ["generic-password:3"])
        #expect(found("passwords:\n  admin: \(password)\n  reader: Hk3%v9Qm2Lr7\n  min_length: 12\n", path: "values.yaml") == ["generic-password:2", "generic-password:3"])
        #expect(found("api_token: >-\n  \(secret)\n", path: "values.yaml") == ["generic-secret:2"])
        #expect(found("Parameters:\n  DBPassword:\n    Type: String\n    NoEcho: true\n    Default: \(password)\n", path: "stack.yaml") == ["generic-password:5"])
        #expect(found("db_password = <<EOT\n\(password)\nEOT\n", path: "main.tf") == ["generic-password:2"])
        #expect(found("api_key:\n  \(secret)\nregion: eu-west-1\n", path: "values.yaml") == ["generic-secret:2"])
        #expect(found("smtp:\n  password:\n    plain: \(password)\n", path: "values.yaml") == ["generic-password:3"])
        #expect(found("[{\"ParameterKey\": \"DBPassword\", \"ParameterValue\": \"\(password)\"}]\n", path: "params.json") == ["generic-password:1"])
        // ECS task definitions: the sibling on the same line and on the next.
        #expect(found("{\"name\": \"DB_PASSWORD\", \"value\": \"\(password)\"}\n", path: "task.json") == ["generic-password:1"])
        #expect(found("env:\n  - {name: SMTP_PASSWORD, value: \"\(password)\"}\n  - {name: LOG_LEVEL, value: debug}\n", path: "pod.yaml") == ["generic-password:2"])
        #expect(found("{\n  \"name\": \"API_TOKEN\",\n  \"value\": \"\(secret)\"\n}\n", path: "task.json") == ["generic-secret:3"])
        // A value in a known format keeps its own rule.
        #expect(found("env:\n  - name: GITHUB_TOKEN\n    value: \(githubToken("ghp_"))\n", path: "deploy.yaml") == ["github-pat:3"])
    }
}

@Suite struct EncodedTests {
    static func secretManifest(_ data: [(String, String)]) -> String {
        "apiVersion: v1\ndata:\n" + data.map { "  \($0.0): \(base64($0.1))\n" }.joined() + "kind: Secret\nmetadata:\n  name: orders\ntype: Opaque\n"
    }

    @Test func decodedValuesThatAreNotSecretsHideTheirEncoding() {
        // `password: <base64 of changeme>`: the encoded text looks random, the value is a placeholder.
        for text in [
            Self.secretManifest([("password", "changeme"), ("username", "orders"), ("host", "db.internal")]),
            Self.secretManifest([("ca.crt", certificate)]),
            "kind: ConfigMap\ndata:\n  password_hint: \(base64("ask the on-call engineer"))\n",
            "users:\n- name: ci\n  user:\n    client-certificate-data: \(base64(certificate))\n",
            "{\"auths\": {\"registry.internal\": {\"auth\": \"\(base64("deploy:changeme"))\"}}}\n",
            "{\"auths\": {\"registry.internal\": {\"auth\": \"\(base64("deploy:"))\"}}}\n",
            "{\"auths\": {\"registry.internal\": {\"auth\": \"\"}}}\n",
        ] {
            #expect(found(text, path: "secret.yaml").isEmpty, "\(text)")
        }
    }

    @Test func decodedSecretsAreReportedOnTheEncodedLine() {
        let manifest = Self.secretManifest([
            ("username", "orders"), ("password", password), ("tls.key", pem), ("token", githubToken("ghp_")),
            ("DATABASE_URL", "postgres://orders:Xk9#mQ2vLp7z@db.internal:5432/orders"), ("api-key", secret),
        ])
        #expect(found(manifest, path: "secret.yaml") == ["generic-password:4", "private-key:5", "github-pat:6", "url-password:7", "generic-secret:8"])
        let json = "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"data\": {\"password\": \"\(base64(password))\"}}\n"
        #expect(found(json, path: "secret.json") == ["generic-password:1"])
        let kubeconfig = "users:\n- name: ci\n  user:\n    client-certificate-data: \(base64(certificate))\n    client-key-data: \(base64(pem))\n"
        #expect(found(kubeconfig, path: "kubeconfig") == ["private-key:5"])
        let docker = "{\n  \"auths\": {\n    \"registry.internal\": {\n      \"auth\": \"\(base64("deploy:" + password + "Q"))\"\n    }\n  }\n}\n"
        #expect(found(docker, path: "config.json") == ["docker-registry-auth:4"])
        let pullSecret = Self.secretManifest([(".dockerconfigjson", "{\"auths\":{\"r.internal\":{\"auth\":\"\(base64("ci:" + secret))\"}}}")])
        #expect(found(pullSecret, path: "pull.yaml") == ["docker-registry-auth:3"])
        #expect(found("GITHUB_TOKEN_B64=\(base64(githubToken("ghp_")))\n", path: ".env") == ["github-pat:1"])
    }

    @Test func longLinesAreDecodedToo() {
        // A 4096-bit key is over 4 KB of base64 on one line.
        let bigPEM = "-----BEGIN RSA PRIVATE KEY-----\n" + String(repeating: pemBody, count: 14) + "-----END RSA PRIVATE KEY-----\n"
        let manifest = Self.secretManifest([("tls.crt", certificate), ("tls.key", bigPEM)])
        #expect(base64(bigPEM).utf8.count > 4096)
        #expect(found(manifest, path: "tls.yaml") == ["private-key:4"])
        #expect(found("client-key-data: \(base64(bigPEM))\n", path: "kubeconfig") == ["private-key:1"])
        // Wrapped at 76 columns in a block scalar, followed by another key.
        let encoded = Array(base64(pem))
        let wrapped = stride(from: 0, to: encoded.count, by: 76).map { "  " + String(encoded[$0..<min($0 + 76, encoded.count)]) }
        #expect(found("tls.key: |\n" + wrapped.joined(separator: "\n") + "\ntls.crt: \(base64(certificate))\n", path: "values.yaml") == ["private-key:2"])
    }
}

@Suite struct CommandLineTests {
    @Test func optionsThatAreNotPasswords() {
        for text in [
            "mysql -u root -p orders\n", "docker run -p 8080:80 nginx\n", "mkdir -p /var/lib/app\n",
            "sshpass -p \"$SSH_PASSWORD\" ssh deploy@host\n", "curl -u deploy https://api.internal/\n",
            "curl -H \"Authorization: Bearer $TOKEN\" https://api.internal/\n",
            "curl -H \"Authorization: Basic \(base64("user:pass"))\" https://api.internal/\n",
            "redis-server --requirepass \"${REDIS_PASSWORD}\"\n", "mysql --password=\"$DB_PASSWORD\" orders\n",
            "docker login -u ci -p \"$(cat /run/secrets/registry)\" registry.internal\n",
            "healthcheck:\n  test: [\"CMD\", \"mysqladmin\", \"ping\", \"-uroot\", \"-p${MYSQL_ROOT_PASSWORD}\"]\n",
            "sshpass -p 'P@ssw0rd' ssh admin@host\n", "redis-cli -h cache -p 6379 ping\n", "ssh -p 2222 deploy@host\n",
            "sshpass -p \"$PASS\" scp -P 2222 dump.sql deploy@host:/tmp\n", "mongo -u admin -p --authenticationDatabase admin\n",
        ] {
            #expect(found(text, path: "deploy.sh").isEmpty, "\(text)")
        }
    }

    @Test func passwordsPassedAsArguments() {
        #expect(found("sshpass -p '\(password)' ssh deploy@host\n", path: "deploy.sh") == ["generic-password:1"])
        #expect(found("mysqldump -u root -pHk3v9Qm2Lr7T orders > dump.sql\n", path: "backup.sh") == ["generic-password:1"])
        #expect(found("docker login -u ci -p Hk3v9Qm2Lr7T registry.internal\n", path: ".gitlab-ci.yml") == ["generic-password:1"])
        #expect(found("docker login registry.internal \\\n  -u ci \\\n  -p Hk3v9Qm2Lr7T\n", path: "ci.sh") == ["generic-password:3"])
        #expect(found("redis-server --requirepass Hk3v9Qm2Lr7T\n", path: "run.sh") == ["generic-password:1"])
        #expect(found("mysql --password=\(password) orders\n", path: "run.sh") == ["generic-password:1"])
        #expect(found("    command: [\"redis-server\", \"--requirepass\", \"Hk3v9Qm2Lr7T\"]\n", path: "compose.yaml") == ["generic-password:1"])
        #expect(found("    command:\n      - redis-server\n      - --requirepass\n      - Hk3v9Qm2Lr7T\n", path: "compose.yaml") == ["generic-password:4"])
        #expect(found("aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Z3mK9vT\n", path: "setup.sh") == ["aws-secret-access-key:1"])
        #expect(found("curl -u deploy:Hk3v9Qm2Lr7T https://api.internal/\n", path: "run.sh") == ["generic-password:1"])
        #expect(found("curl -H \"Authorization: Bearer \(secret)\" https://api.internal/\n", path: "run.sh") == ["http-authorization-header:1"])
        #expect(found("curl -H \"Authorization: Basic \(base64("deploy:" + password))\" https://api.internal/\n", path: "run.sh") == ["http-authorization-header:1"])
        #expect(found("curl -H \"Authorization: Bearer \(githubToken("ghp_"))\" https://api.github.com/\n", path: "run.sh") == ["github-pat:1"])
        #expect(found("curl -H \"X-Api-Key: \(secret)\" https://api.internal/\n", path: "run.sh") == ["generic-secret:1"])
        #expect(found("echo \"Hk3v9Qm2Lr7T\" | docker login -u ci --password-stdin registry.internal\n", path: "ci.sh") == ["generic-password:1"])
        #expect(found("az login --service-principal -u http://orders-ci -p Hk3v9Qm2Lr7T --tenant acme\n", path: "ci.sh") == ["generic-password:1"])
        #expect(found("keytool -importkeystore -srcstorepass \(password) -deststorepass \(password)X\n", path: "ci.sh").count == 2)
        // In code, a command line is a string.
        #expect(found("subprocess.run([\"mysql\", \"--password=\(password)\", \"orders\"])\n", path: "backup.py") == ["generic-password:1"])
    }
}

@Suite struct InlineAssignmentTests {
    @Test func inlineNamesThatAreNotAssignments() {
        #expect(found("x = call(token=tokenValueFromEnvironment)\n", path: "app.py").isEmpty)
        #expect(found("The API_KEY=<your key> line goes in .env.\n", path: "README.md").isEmpty)
        #expect(found("```python\npassword = get_password()\nAPI_KEY=load_key\n```\n", path: "README.md").isEmpty)
        #expect(found("2024-05-01 12:00:01 [INFO] token=%s refreshed\n", path: "app.log").isEmpty)
        #expect(found("if [ \"$DB_PASSWORD\" == \"\" ]; then exit 1; fi\n", path: "run.sh").isEmpty)
        // Template fields and escapes inside a quoted `NAME=value`.
        #expect(found("run(\"--secret\", f\"DB_PASSWORD={vault}/run-db\")\n", path: "t.py").isEmpty)
        #expect(found("lines = [f'SLACK_BOT_TOKEN=\"xoxb-{pick(rng, DIGITS, 12)}\"']\n", path: "t.py").isEmpty)
        #expect(found("printf 'DB_PASSWORD=correct-horse-battery-staple\\nLOG_LEVEL=info\\n' > app.env\n", path: "run.sh").isEmpty)
    }

    @Test func assignmentsInsideLines() {
        #expect(found("2024-05-01 12:00:01 [DEBUG] Using API_KEY=\(secret) for upstream\n", path: "app.log") == ["generic-secret:1"])
        #expect(found("Dec 01 10:00:00 worker[12]: INFO auth token: \(secret)\n", path: "worker.log") == ["generic-secret:1"])
        #expect(found("# Setup\n\n```bash\nexport DB_PASSWORD=\(password)\n```\n", path: "README.md") == ["generic-password:4"])
        #expect(found("```\nAPI_TOKEN=\(secret)\n```\n", path: "docs/setup.md") == ["generic-secret:2"])
        #expect(found("Run it with `API_TOKEN=\(secret) make deploy`.\n", path: "README.md") == ["generic-secret:1"])
        #expect(found("env DB_PASSWORD=\(password) ./migrate\n", path: "Makefile") == ["generic-password:1"])
        #expect(found("environment:\n  - \"DB_PASSWORD=\(password)\"\n", path: "compose.yaml") == ["generic-password:2"])
        #expect(found("environment:\n  - \"DB_PASSWORD=Zq7#Lm2vT9xK\"\n", path: "compose.yaml") == ["generic-password:2"])
        #expect(found("docker run -e \"API_TOKEN=\(secret)\" orders\n", path: "run.sh") == ["generic-secret:1"])
    }
}

@Suite struct URLShapeTests {
    static let signature = "3b0d5f7a9c1e2d4f6a8b0c2e4d6f8a1b3c5e7d9f0a2b4c6e8d0f1a3b5c7e9d2f"

    @Test func urlsWithoutCredentials() {
        #expect(found("GET https://api.orders.io/v1/items?page=2&sort=name\n").isEmpty)
        #expect(found("https://api.orders.io/v1/items?key=value\n").isEmpty)
        #expect(found("https://bucket.s3.amazonaws.com/a.csv?X-Amz-Signature=\(Self.signature)\n").isEmpty)
        #expect(found("https://maps.orders.io/?key=${MAPS_KEY}\n").isEmpty)
        #expect(found("https://api.orders.io/v1/items?page_token=\(secret)&size=50\n").isEmpty)
    }

    @Test func credentialsInURLs() {
        #expect(found("https://api.orders.io/v1/items?access_token=\(secret)&page=2\n") == ["generic-secret:1"])
        #expect(found("fetch(\"https://api.orders.io/v1/items?api_key=\(secret)\")\n", path: "app.js") == ["generic-secret:1"])
        #expect(found("url: https://hooks.orders.io/in?token=\(secret)\n", path: "ci.yml") == ["generic-secret:1"])
        let presigned = "https://reports.s3.amazonaws.com/q3.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAQ3EGRZXKMPT7HLWB%2F20241201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20241201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=\(Self.signature)"
        #expect(found("link: \(presigned)\n") == ["aws-presigned-url:1"])
        #expect(found("REDIS_URL=rediss://:Xk9mQ2vLp7zR@cache.internal:6380/0\n", path: ".env") == ["url-password:1"])
    }
}

@Suite struct MisjudgedValueTests {
    @Test func hexUnderAPasswordName() {
        let hex = "4f9a1c7e2b8d0f3a6c5e9b1d7f2a4c8e0b3d6f91"
        #expect(found("<ClearTextPassword>\(hex)</ClearTextPassword>\n", path: "unattend.xml") == ["generic-password:1"])
        #expect(found("password_sha1 = \"\(hex)\"\n", path: "app.ini").isEmpty)
        #expect(found("commit = \"\(hex)\"\n", path: "app.ini").isEmpty)
    }

    @Test func propertiesValueStartingWithEquals() {
        #expect(found("spring.datasource.password==\(password)\n", path: "application.properties") == ["generic-password:1"])
        #expect(found("if (password == \"\(password)\") {}\n", path: "Login.java").isEmpty)
    }
}

@Suite struct NewTokenFormatTests {
    static let sentryPayload = base64("{\"iat\":1733400000.5,\"url\":\"https://sentry.io\",\"region_url\":\"https://us.sentry.io\",\"org\":\"acme-orders\"}")
    static let onePasswordPayload = base64("{\"signInAddress\":\"acme.1password.com\",\"userAuth\":{\"method\":\"SRPg-4096\",\"alg\":\"PBES2g-HS256\",\"iterations\":650000,\"salt\":\"\(randomish(22, seed: 9))\"},\"email\":\"svc@acme.com\",\"srpX\":\"\(randomish(64, seed: 10, alphabet: "0123456789abcdef"))\"}")
    static let grafanaPayload = base64("{\"k\":\"\(randomish(32, seed: 11))\",\"n\":\"deploy\",\"id\":1}")

    static var positives: [(String, String)] {
        [
            ("slack-legacy-token", "xoxb-" + "49726183502-" + randomish(24, seed: 1)),
            ("slack-legacy-token", "xoxs-" + "4972618350-4972618351-4972618352-" + randomish(64, seed: 2, alphabet: "0123456789abcdef")),
            ("slack-legacy-token", "xoxa-2-" + randomish(40, seed: 3)),
            ("slack-config-token", "xoxe.xoxp-1-" + randomish(163, seed: 4)),
            ("slack-config-token", "xoxe-1-" + randomish(146, seed: 5)),
            ("huggingface-org-token", "api_org_" + randomish(34, seed: 6, alphabet: "QmvKpXtRwZnLsDfHjBcVgYeTaUoPiWqErNbMhJkGdF")),
            ("sourcegraph-token", "sgp_" + randomish(40, seed: 7, alphabet: "0123456789abcdef")),
            ("sourcegraph-token", "sgp_" + randomish(16, seed: 8, alphabet: "0123456789abcdef") + "_" + randomish(40, seed: 12, alphabet: "0123456789abcdef")),
            ("sourcegraph-token", "sgp_local_" + randomish(40, seed: 13, alphabet: "0123456789abcdef")),
            ("notion-token", "ntn_" + "48261937205" + randomish(35, seed: 14)),
            ("sentry-token", "sntrys_" + sentryPayload + "_" + randomish(43, seed: 15)),
            ("sentry-token", "sntryu_" + randomish(64, seed: 16, alphabet: "0123456789abcdef")),
            ("cloudflare-origin-ca-key", "v1.0-" + randomish(24, seed: 17, alphabet: "0123456789abcdef") + "-" + randomish(146, seed: 18, alphabet: "0123456789abcdef")),
            ("onepassword-service-account-token", "ops_" + onePasswordPayload),
            ("jenkins-encrypted-secret", "{AQAAABAAAAAQ" + randomish(44, seed: 19) + "=}"),
            ("databricks-token", "dapi" + randomish(32, seed: 20, alphabet: "0123456789abcdef")),
            ("databricks-token", "dapi" + randomish(32, seed: 21, alphabet: "0123456789abcdef") + "-2"),
            ("grafana-api-key", grafanaPayload),
            ("grafana-cloud-token", "glc_" + randomish(80, seed: 22)),
            ("grafana-service-account-token", "glsa_" + randomish(32, seed: 23) + "_" + randomish(8, seed: 24, alphabet: "0123456789abcdef")),
        ]
    }

    @Test func lookalikesAndExamplesAreNotTokens() {
        for text in [
            "xoxo-gossip-girl-fan-club", "xoxb-1234567890-abcdefghijklmnopqrstuvwx", "xoxs-",
            "sntrys_" + base64("{\"not\":\"sentry\"}").dropLast() + "X_" + randomish(43, seed: 30),
            "sntrys_eyJ" + randomish(60, seed: 31) + "_" + randomish(43, seed: 32),
            "ops_eyJ" + randomish(120, seed: 33), "eyJrIjoi" + randomish(60, seed: 34),
            "api_org_abcdefghijklmnopqrstuvwxyzABCDEFGH", "dapi0123456789abcdef0123456789abcdef",
            "v1.0-beta", "glsa_" + randomish(32, seed: 35) + "_xyz12345", "ntn_" + "12345678901" + randomish(35, seed: 36),
            "sk_live_abcdefghijklmnopqrstuvwx", "AKIAABCDEFGHIJKLMNOP", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
            "sk_live_51Habc123" + randomish(20, seed: 37), "glc_" + randomish(30, seed: 38) + "xyz" + randomish(30, seed: 39),
            "api_key = \"a1b2c3d4e5f6g7h8i9j0k1l2\"", "api_key = \"1a2b3C4d5E6f7G8h9I0j\"",
            "sk_live_abcd1234efgh5678ijkl9012", "api_key = \"deadbeefdeadbeefdeadbeefdeadbeef\"",
        ] {
            #expect(found("value: \(text)\n").isEmpty, "\(text)")
        }
    }

    @Test func everyNewFormatIsFoundWithItsStructure() {
        for (rule, token) in Self.positives {
            #expect(found("value: \(token)\n") == ["\(rule):1"], "\(rule) \(token)")
            #expect(found("x = \"\(token)\"\n", path: "app.py") == ["\(rule):1"], "\(rule) in code")
        }
    }

    @Test func sidekiqCredentials() {
        #expect(found("BUNDLE_GEMS__CONTRIBSYS__COM=4f9a1c7e:b2d80f3a\n", path: ".env") == ["sidekiq-credential:1"])
        #expect(found("BUNDLE_ENTERPRISE__CONTRIBSYS__COM: \"4f9a1c7e:b2d80f3a\"\n", path: "ci.yml") == ["sidekiq-credential:1"])
        #expect(found("source \"https://4f9a1c7e:b2d80f3a@gems.contribsys.com/\" do\n", path: "Gemfile") == ["sidekiq-credential:1"])
        #expect(found("bundle config gems.contribsys.com 4f9a1c7e:b2d80f3a\n", path: "setup.sh") == ["sidekiq-credential:1"])
        #expect(found("source \"https://gems.contribsys.com/\" do\n", path: "Gemfile").isEmpty)
        #expect(found("bundle config gems.contribsys.com 12345678:9abcdef0\n", path: "setup.sh").isEmpty)
    }

    @Test func jenkinsBlobsAreLowSeverity() throws {
        let blob = "{AQAAABAAAAAQ" + randomish(44, seed: 19) + "=}"
        let finding = try #require(scan("<password>\(blob)</password>\n", path: "credentials.xml").first)
        #expect(finding.rule.id == "jenkins-encrypted-secret")
        #expect(finding.rule.severity == .low)
        let report = ScanReport(findings: [finding])
        #expect(report.sarif(toolVersion: "0").contains("\"level\":\"note\""))
        #expect(report.json().contains("\"severity\":\"low\""))
        #expect(scan("token = \"\(githubToken("ghp_"))\"\n").first?.rule.severity == .high)
    }
}
