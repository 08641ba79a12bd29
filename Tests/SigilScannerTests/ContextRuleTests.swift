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
            "{\n  \"sqlAdminPassword\": {\n    \"reference\": {\n      \"secretName\": \"sql-admin\"\n    }\n  }\n}\n",
            "{\n  \"redisPassword\": {\n    \"value\": \"[parameters('redisPrimaryKey')]\"\n  }\n}\n",
            "<key>PasswordMinLength</key>\n<integer>10</integer>\n", "<key>APIToken</key>\n<string>$(API_TOKEN)</string>\n",
            "env:\n  - value: \"\(password)\"\n    name: LOG_LEVEL\n", "partnerApiKeys:\n  - ${PARTNER_KEY_ONE}\n  - two words\n",
            "spec:\n  encryptedData:\n    JWT_SECRET: AgCa\(secret)\(secret)\n    DB_PASSWORD: AgBd\(secret)\n",
        ] {
            #expect(found(text, path: "main.tf").isEmpty, "\(text)")
        }
    }

    @Test func valuesBelowTheirNameAreReportedOnTheirOwnLine() {
        // A JSON object of its own (an ARM parameter), the value below its key, the value before
        // its name, the items of a list of keys, a property list.
        #expect(found("{\n  \"vmAdminPassword\": {\n    \"value\": \"\(password)\"\n  }\n}\n", path: "azuredeploy.parameters.json") == ["generic-password:3"])
        #expect(found("{\n  \"hostApiKey\": {\n    \"value\":\n      \"\(secret)\"\n  }\n}\n", path: "azuredeploy.parameters.json") == ["generic-secret:4"])
        #expect(found("env:\n  - name: SHIPPO_API_TOKEN\n    value:\n      \(secret)\n", path: "deploy.yaml") == ["generic-secret:4"])
        #expect(found("env:\n  - value: \"\(password)\"\n    name: WAREHOUSE_PASSWORD\n", path: "cronjob.yaml") == ["generic-password:2"])
        #expect(found("[\n  {\n    \"value\": \"\(password)\",\n    \"name\": \"SMTP_PASSWORD\"\n  }\n]\n", path: "task-definition.json") == ["generic-password:3"])
        #expect(found("partnerApiKeys:\n  - \(secret)\n  - \(secret)Q\n", path: "values.yaml") == ["generic-secret:2", "generic-secret:3"])
        #expect(found("<dict>\n\t<key>SupportPassword</key>\n\t<string>\(password)</string>\n</dict>\n", path: "Config.plist") == ["generic-password:3"])
        #expect(found("<dict>\n\t<key>RevenueCatAPIKey</key>\n\t<string>\n\t\t\(secret)\n\t</string>\n</dict>\n", path: "Config.plist") == ["generic-secret:4"])
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
        // A vendor's key known by its name, decoded; a name that says base64 has its value decoded.
        let awsSecret = "K2pHqv8Zr3mT9xW4bN7cL1sD6fJ0gY5eUoPiaQtV"
        #expect(found(Self.secretManifest([("AWS_SECRET_ACCESS_KEY", awsSecret)]), path: "secret.yaml") == ["aws-secret-access-key:3"])
        let serviceAccount = "{\n  \"type\": \"service_account\",\n  \"project_id\": \"orders\",\n  \"private_key\": \"\(pem.replacingOccurrences(of: "\n", with: "\\n"))\",\n  \"client_email\": \"ci@orders.iam.gserviceaccount.com\"\n}\n"
        #expect(found("variables:\n  GCP_SA_KEY_BASE64: \"\(base64(serviceAccount))\"\n", path: ".gitlab-ci.yml") == ["gcp-service-account-key:2"])
        #expect(found("variables:\n  BANNER_KEY_BASE64: \(base64("Deploys run from the main branch only."))\n", path: ".gitlab-ci.yml").isEmpty)
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
            "grep -w password /etc/app.conf\n", "twine upload -u __token__ -p \"$PYPI_TOKEN\" dist/*\n",
            "ldapsearch -x -D \"cn=admin\" -W -b \"dc=acme\"\n", "ldapsearch -x -w \"$LDAP_PASSWORD\" -b \"dc=acme\"\n",
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
        // Passwords of words, a number and a dot are literal words on a command line, not member chains.
        #expect(found("twine upload -u release-bot -p meadow3199Dahlia_ dist/*\n", path: "release.yml") == ["generic-password:1"])
        #expect(found("ldapsearch -x -D \"cn=erp\" -w nimbus3713Raven! -b \"dc=acme\"\n", path: "restore.sh") == ["generic-password:1"])
        #expect(found("sqlcmd -S erp,1433 -U sa -P Saffron8346.willow -Q \"SELECT 1\"\n", path: "restore.sh") == ["generic-password:1"])
        #expect(found("mongorestore --username restore --password walnut4125Quartz. --drop\n", path: "restore.sh") == ["generic-password:1"])
        #expect(found("sshpass -p Velvet.Falcon27 ssh deploy@host\n", path: "deploy.sh") == ["generic-password:1"])
        #expect(found("    command:\n      - --db-password=Quartz5114.otter\n", path: "compose.yaml") == ["generic-password:2"])
        // In code an unquoted argument may be an expression.
        #expect(found("subprocess.run([\"sshpass\", \"-p\", settings.deploy_pw, \"ssh\", host])\n", path: "deploy.py").isEmpty)
    }
}

@Suite struct InlineAssignmentTests {
    @Test func inlineNamesThatAreNotAssignments() {
        #expect(found("x = call(token=tokenValueFromEnvironment)\n", path: "app.py").isEmpty)
        #expect(found("The API_KEY=<your key> line goes in .env.\n", path: "README.md").isEmpty)
        #expect(found("```python\npassword = get_password()\nAPI_KEY=load_key\n```\n", path: "README.md").isEmpty)
        #expect(found("2024-05-01 12:00:01 [INFO] token=%s refreshed\n", path: "app.log").isEmpty)
        #expect(found("if [ \"$DB_PASSWORD\" == \"\" ]; then exit 1; fi\n", path: "run.sh").isEmpty)
        #expect(found("Basic auth is off; see the authorization docs.\n", path: "README.md").isEmpty)
        // Pusher's app key is published in the browser; its secret is not.
        #expect(found("PUSHER_APP_KEY=5f772d01e2d5cf093ce0\nPUSHER_APP_SECRET=\(secret)\n", path: ".env") == ["generic-secret:2"])
        // Template fields and escapes inside a quoted `NAME=value`.
        #expect(found("run(\"--secret\", f\"DB_PASSWORD={vault}/run-db\")\n", path: "t.py").isEmpty)
        #expect(found("lines = [f'SLACK_BOT_TOKEN=\"xoxb-{pick(rng, DIGITS, 12)}\"']\n", path: "t.py").isEmpty)
        #expect(found("printf 'DB_PASSWORD=correct-horse-battery-staple\\nLOG_LEVEL=info\\n' > app.env\n", path: "run.sh").isEmpty)
        #expect(found("password = settings.DB_PASSWORD\n", path: "app.py").isEmpty)
        #expect(found("database:\n  password: config.db.password\n", path: "app.yaml").isEmpty)
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
        #expect(found("+ DB_PASSWORD=Pioneer.Dahlia1832\n", path: "deploy-trace.txt") == ["generic-password:1"])
        #expect(found("ENV REPORTS_DB_PASSWORD=Lantern.indigo.294\n", path: "Dockerfile") == ["generic-password:1"])
        #expect(found("git -c http.extraheader=\"AUTHORIZATION: basic \(base64("ci:" + password))\" submodule update\n", path: "release.yml") == ["http-authorization-header:1"])
        #expect(found("RABBITMQ_ERLANG_COOKIE: \"\(secret)\"\n", path: "compose.yaml") == ["generic-secret:1"])
    }
}

@Suite struct DefaultsInReferencesTests {
    @Test func referencesWithoutALiteralDefault() {
        for (text, path) in [
            ("MYSQL_ROOT_PASSWORD: ${MYSQL_ROOT_PASSWORD}\n", "compose.yaml"), ("DB_PASSWORD=\"${DB_PASSWORD:-changeme}\"\n", "deploy.sh"),
            ("DB_PASSWORD=\"${DB_PASSWORD:-${FALLBACK_PASSWORD}}\"\n", "deploy.sh"),
            ("app.datasource.password=${DB_PASSWORD}\n", "application.properties"),
            ("NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n", "ci.yml"), ("api-key: {{ .Values.apiKey | b64enc | quote }}\n", "secret.yaml"),
            ("  api_key = coalesce(var.api_key, var.fallback_key)\n", "main.tf"),
            ("if grep -qw password config/*.yml; then exit 1; fi\n", "check.sh"),
        ] {
            #expect(found(text, path: path).isEmpty, "\(text)")
        }
    }

    @Test func aLiteralDefaultIsTheValue() {
        #expect(found("      MYSQL_ROOT_PASSWORD: ${MYSQL_ROOT_PASSWORD:-\(password)}\n", path: "compose.yaml") == ["generic-password:1"])
        #expect(found("DB_PASSWORD=\"${DB_PASSWORD:-\(password)}\"\n", path: "deploy.sh") == ["generic-password:1"])
        #expect(found("app.datasource.password=${REPORTING_DB_PASSWORD:\(password)}\n", path: "application.properties") == ["generic-password:1"])
        #expect(found("          API_TOKEN: ${{ secrets.API_TOKEN || '\(secret)' }}\n", path: "deploy.yml") == ["generic-secret:1"])
        #expect(found("  search-api-key: {{ .Values.search.apiKey | default \"\(secret)\" | b64enc | quote }}\n", path: "secret.yaml") == ["generic-secret:1"])
        #expect(found("  grafana_api_key = coalesce(var.grafana_api_key, \"\(secret)\")\n", path: "main.tf") == ["generic-secret:1"])
    }
}

@Suite struct URLShapeTests {
    static let signature = "3b0d5f7a9c1e2d4f6a8b0c2e4d6f8a1b3c5e7d9f0a2b4c6e8d0f1a3b5c7e9d2f"

    @Test func urlsWithoutCredentials() {
        #expect(found("GET https://api.orders.io/v1/items?page=2&sort=name\n").isEmpty)
        #expect(found("https://api.orders.io/v1/items?key=value\n").isEmpty)
        #expect(found("https://bucket.s3.amazonaws.com/a.csv?X-Amz-Signature=\(Self.signature)\n").isEmpty)
        #expect(found("https://bucket.s3.amazonaws.com/a.csv?X-Amz-Credential=@@akid@@%2F20240311%2Feu-west-1%2Fs3%2Faws4_request\n").isEmpty)
        #expect(found("<password>@db.password@</password>\n", path: "settings.xml").isEmpty)
        #expect(found("https://maps.orders.io/?key=${MAPS_KEY}\n").isEmpty)
        #expect(found("https://api.orders.io/v1/items?page_token=\(secret)&size=50\n").isEmpty)
        // Words joined by underscores are a name, not a password.
        #expect(found("DATABASE_URL=postgres://orders:orders_db_user@db:5432/orders\n", path: ".env").isEmpty)
    }

    @Test func credentialsInURLs() {
        #expect(found("https://api.orders.io/v1/items?access_token=\(secret)&page=2\n") == ["generic-secret:1"])
        #expect(found("fetch(\"https://api.orders.io/v1/items?api_key=\(secret)\")\n", path: "app.js") == ["generic-secret:1"])
        #expect(found("url: https://hooks.orders.io/in?token=\(secret)\n", path: "ci.yml") == ["generic-secret:1"])
        let presigned = "https://reports.s3.amazonaws.com/q3.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAQ3EGRZXKMPT7HLWB%2F20241201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20241201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=\(Self.signature)"
        // The signature, and the access key id that deactivating revokes the URL with.
        #expect(Set(found("link: \(presigned)\n")) == ["aws-presigned-url:1", "aws-access-key-id:1"])
        #expect(found("REDIS_URL=rediss://:Xk9mQ2vLp7zR@cache.internal:6380/0\n", path: ".env") == ["url-password:1"])
        #expect(found("REDIS_URL=rediss://:PSyLkcWqSF_DeOB@cache.internal:6380/0\n", path: ".env") == ["url-password:1"])
        #expect(found("DATABASE_URL=postgres://orders:FYNCSX_NnM_TFxRaZMpWzkb@db:5432/orders\n", path: ".env") == ["url-password:1"])
        #expect(found("CLICKHOUSE_URL=https://ch.internal:8443/?user=reporting&password=Indigo.willow.1879&database=events\n", path: ".env") == ["generic-password:1"])
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
        #expect(found("app.reports.sftp.password ==Emb3r*Velvet9139@\n", path: "application.properties") == ["generic-password:1"])
        // In configuration `key: Word=x` is a value, not a typed declaration.
        #expect(found("secrets:\n  db_password: Indigo8512=willow\n", path: "staging.yaml") == ["generic-password:2"])
        #expect(found("if (password == \"\(password)\") {}\n", path: "Login.java").isEmpty)
    }
}

@Suite struct NewTokenFormatTests {
    static let sentryPayload = base64("{\"iat\":1733400000.5,\"url\":\"https://sentry.io\",\"region_url\":\"https://us.sentry.io\",\"org\":\"acme-orders\"}")
    static let onePasswordPayload = base64("{\"signInAddress\":\"acme.1password.com\",\"userAuth\":{\"method\":\"SRPg-4096\",\"alg\":\"PBES2g-HS256\",\"iterations\":650000,\"salt\":\"\(randomish(22, seed: 9))\"},\"email\":\"svc@acme.com\",\"srpX\":\"\(randomish(64, seed: 10, alphabet: "0123456789abcdef"))\",\"muk\":{\"alg\":\"A256GCM\",\"k\":\"\(randomish(43, seed: 25))\"},\"secretKey\":\"A3-\(randomish(6, seed: 26, alphabet: "ABCDEFGHJKLMNPQRSTVWXYZ23456789"))-\(randomish(6, seed: 27, alphabet: "ABCDEFGHJKLMNPQRSTVWXYZ23456789"))\"}")
    static let grafanaPayload = base64("{\"k\":\"\(randomish(32, seed: 11))\",\"n\":\"deploy\",\"id\":1}")
    static let grafanaCloudPayload = base64("{\"o\":\"1183042\",\"n\":\"orders-alloy\",\"k\":\"\(randomish(24, seed: 22))\",\"m\":{\"r\":\"prod-eu-west-0\"}}")

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
            ("grafana-cloud-token", "glc_" + grafanaCloudPayload),
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
            // Structure without the fields the format writes, or with filler in them.
            "glc_" + base64("{\"o\":\"1225371\",\"n\":\"docs\"}"),
            "glc_" + base64("{\"o\":\"123456\",\"n\":\"stack\",\"k\":\"abcdefghijklmnopqrstuvwx\",\"m\":{\"r\":\"us\"}}"),
            "eyJrIjoi" + base64("{\"k\":\"a6c197b1-348b\",\"t\":\"72f988bf\",\"c\":5}").dropFirst(8),
            "sntrys_" + base64("{\"org\":\"acme-corp\",\"note\":\"rotated 2024-02\"}") + "_" + randomish(43, seed: 40),
            "ops_" + base64("{\"note\":\"1Password Connect server token goes in OP_CONNECT_TOKEN\"}"),
            "ops_" + base64("{\"signInAddress\":\"my.1password.com\",\"email\":\"a@b.c\",\"srpX\":\"0123456789abcdef0123456789abcdef\",\"muk\":{},\"secretKey\":\"A3-ABCDEF-GHIJKL\"}"),
        ] {
            #expect(found("value: \(text)\n").isEmpty, "\(text)")
        }
    }

    @Test func vendorKeysKnownByTheirNameAreNotFillers() {
        #expect(found("AWS_SECRET_ACCESS_KEY=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN\n", path: ".env.example").isEmpty)
        #expect(found("aws:\n  secret_access_key: \"0123456789abcdefghijklmnopqrstuvwxyzABCD\"\n", path: "credentials.yaml").isEmpty)
        #expect(found("AWS_SECRET_ACCESS_KEY=K2pHqv8Zr3mT9xW4bN7cL1sD6fJ0gY5eUoPiaQtV\n", path: ".env") == ["aws-secret-access-key:1"])
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
