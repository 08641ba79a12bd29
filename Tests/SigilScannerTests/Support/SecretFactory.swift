import Foundation

/// Fresh, format-valid secrets for every scanner rule (docs/scanner-rules.md), used to fill the
/// `⟦rule-id⟧` placeholders of the labelled corpus. Everything is drawn from the caller's generator,
/// so a seeded generator gives the same corpus every run.
///
/// The values only have to look real to a scanner: private-key bodies are random bytes behind a
/// realistic DER prefix, signatures are random, and so on. Checksummed formats (GitHub, npm, Sigil,
/// Grafana service-account tokens) carry a correct checksum, because a scanner must drop a lookalike
/// whose checksum is wrong; formats with an inner structure carry it too (Sentry's, 1Password's and
/// Grafana's base64 JSON, Jenkins' versioned cipher blob, Slack's configuration tokens).
///
/// A placeholder name ending in `-base64` (`private-key-base64`, `github-pat-base64`,
/// `generic-password-base64|literal`) stands for the standard base64 of what the name without the
/// suffix gives, and is labelled with that name's rule: the finding is on the encoded line.
enum SecretFactory {
    /// Every rule id of docs/scanner-rules.md, in the order of that table; the ids added by issue 13
    /// come last, in the order of the issue's contract.
    static let ruleIDs: [String] = [
        "sigil-client-secret", "sigil-join-token",
        "aws-access-key-id", "aws-secret-access-key", "aws-session-token",
        "azure-client-secret", "azure-storage-account-key", "azure-storage-connection-string",
        "azure-sas-token", "azure-service-bus-key", "azure-cosmosdb-key",
        "gcp-service-account-key", "gcp-api-key", "gcp-oauth-client-secret",
        "digitalocean-token", "heroku-api-key",
        "github-pat", "github-oauth-token", "github-user-token", "github-app-token",
        "github-refresh-token", "github-fine-grained-pat",
        "gitlab-pat", "gitlab-pipeline-trigger-token", "gitlab-runner-token",
        "npm-token", "pypi-token", "dockerhub-pat", "nuget-api-key", "rubygems-api-key",
        "slack-bot-token", "slack-user-token", "slack-app-token", "slack-webhook-url",
        "stripe-secret-key", "stripe-restricted-key",
        "twilio-api-key", "sendgrid-api-key", "mailchimp-api-key", "shopify-token",
        "openai-api-key", "anthropic-api-key", "huggingface-token", "newrelic-user-api-key",
        "telegram-bot-token", "discord-webhook-url",
        "square-access-token", "square-oauth-secret", "postman-api-key", "linear-api-key",
        "doppler-token", "vault-token", "terraform-cloud-token",
        "private-key", "openssh-private-key", "putty-private-key", "pgp-private-key",
        "jwt", "url-password", "connection-string-password", "generic-password", "generic-secret",
        "slack-legacy-token", "slack-config-token", "huggingface-org-token", "sourcegraph-token", "notion-token",
        "sentry-token", "cloudflare-origin-ca-key", "onepassword-service-account-token", "sidekiq-credential",
        "jenkins-encrypted-secret", "databricks-token", "grafana-api-key", "grafana-cloud-token",
        "grafana-service-account-token", "docker-registry-auth", "http-authorization-header", "aws-presigned-url",
    ]

    /// Placeholder names that are not rule ids but expand to a value of an existing rule:
    /// `private-key-escaped` is a PKCS#8 key on one line with literal `\n` escapes (for JSON strings),
    /// and `url-password-<kind>` / `connection-string-password-<kind>` pin the database where the
    /// context needs one (a Redis client setting must not get a MySQL URL, `SqlConnection` wants a
    /// SQL Server string); the plain rule ids pick any kind. The issue-13 aliases pin a variant the
    /// same way: `slack-legacy-token-bot` (the two-segment `xoxb-`), `slack-config-token-refresh`
    /// (`xoxe-1-`), `sentry-token-org` / `sentry-token-user`, `http-authorization-header-basic`
    /// (base64 of `user:password` for a `Basic` header; the plain id is an opaque bearer value),
    /// `docker-config-json` (a whole `config.json` whose `auth` is a credential, for
    /// `.dockerconfigjson` with `-base64`), `private-key-rsa4096` (a 4096-bit PKCS#1 key, whose base64
    /// makes a line of 4,000+ characters), `generic-password-hex` (40 hex digits, sometimes 32 or 64:
    /// a password that looks like a digest), `generic-password-eq` (a password that begins with `=`)
    /// and `url-password-redis-nouser` (`redis://:password@host`, userinfo with an empty user).
    static let aliases: [String: String] = [
        "slack-legacy-token-bot": "slack-legacy-token",
        "slack-config-token-refresh": "slack-config-token",
        "sentry-token-org": "sentry-token",
        "sentry-token-user": "sentry-token",
        "http-authorization-header-basic": "http-authorization-header",
        "docker-config-json": "docker-registry-auth",
        "private-key-rsa4096": "private-key",
        "generic-password-hex": "generic-password",
        "generic-password-eq": "generic-password",
        "url-password-redis-nouser": "url-password",
        "private-key-escaped": "private-key",
        "url-password-postgres": "url-password",
        "url-password-sqlalchemy": "url-password",
        "url-password-mysql": "url-password",
        "url-password-mongodb": "url-password",
        "url-password-redis": "url-password",
        "url-password-amqp": "url-password",
        "url-password-https": "url-password",
        "connection-string-password-sqlserver": "connection-string-password",
        "connection-string-password-postgres": "connection-string-password",
        "connection-string-password-mysql": "connection-string-password",
        "connection-string-password-oracle": "connection-string-password",
    ]

    /// The rule a placeholder name is labelled with, or nil when the name is unknown.
    static func labelRule(for placeholder: String) -> String? {
        if let rule = aliases[placeholder] { return rule }
        if let inner = encodedInner(placeholder) { return labelRule(for: inner) }
        return knownRules.contains(placeholder) ? placeholder : nil
    }

    static let base64Suffix = "-base64"

    /// The placeholder name inside an encoded one (`github-pat` for `github-pat-base64`), or nil.
    private static func encodedInner(_ placeholder: String) -> String? {
        guard placeholder.hasSuffix(base64Suffix), placeholder.count > base64Suffix.count else { return nil }
        return String(placeholder.dropLast(base64Suffix.count))
    }

    /// The text a literal placeholder inserts: the literal itself, or its base64 when the name ends
    /// in `-base64` (`⟦generic-password-base64|Harbor!2024⟧` inserts `SGFyYm9yITIwMjQ=`).
    static func literal(_ text: String, placeholder: String) -> String {
        encodedInner(placeholder) == nil ? text : encodeBase64(text)
    }

    /// Standard base64 of a value as a tool would encode the file or string: a multi-line value
    /// (a PEM file, a key file) gets the final newline that file has.
    private static func encodeBase64(_ value: String) -> String {
        let text = value.contains("\n") && !value.hasSuffix("\n") ? value + "\n" : value
        return base64(Array(text.utf8))
    }

    private static let knownRules = Set(ruleIDs)

    /// A fresh value for `rule` (a rule id or an alias). Traps on an unknown name; check it with
    /// `labelRule(for:)` first.
    static func make(rule: String, using rng: inout some RandomNumberGenerator) -> String {
        // Random base64 (key bodies, signatures) can spell a marker the rules treat as "not a
        // secret"; such a value is drawn again so every positive stays a positive.
        while true {
            let value = makeOnce(rule: rule, using: &rng)
            let lower = value.lowercased()
            if !notSecretMarkers.contains(where: { lower.contains($0) }) { return value }
        }
    }

    /// Substrings that make a value a documented non-secret (docs/scanner-rules.md, "Not secrets"),
    /// and the filler runs and stems of issue 13 (shape 8), which mark a placeholder.
    private static let notSecretMarkers = ["example", "xxxx", "****", "placeholder", "changeme", "your",
                                           "abcdef", "123456", "xyz", "abc123", "a1b2c3", "1a2b3c", "qwerty"]

    private static func makeOnce(rule: String, using rng: inout some RandomNumberGenerator) -> String {
        if let inner = encodedInner(rule) { return encodeBase64(make(rule: inner, using: &rng)) }
        switch rule {
        case "sigil-client-secret": return checksummed("sgs_", bodyLength: 40, using: &rng)
        case "sigil-join-token": return checksummed("sgj_", bodyLength: 40, using: &rng)
        case "github-pat": return checksummed("ghp_", bodyLength: 30, using: &rng)
        case "github-oauth-token": return checksummed("gho_", bodyLength: 30, using: &rng)
        case "github-user-token": return checksummed("ghu_", bodyLength: 30, using: &rng)
        case "github-app-token": return checksummed("ghs_", bodyLength: 30, using: &rng)
        case "github-refresh-token": return checksummed("ghr_", bodyLength: 30, using: &rng)
        case "npm-token": return checksummed("npm_", bodyLength: 30, using: &rng)

        case "aws-access-key-id":
            let prefix = weighted([("AKIA", 14), ("ASIA", 4), ("ABIA", 1), ("ACCA", 1)], using: &rng)
            return prefix + draw(upperBase32, 16, using: &rng)
        case "aws-secret-access-key":
            return draw(base64NoPad, 40, using: &rng)
        case "aws-session-token":
            return awsSessionToken(using: &rng)

        case "azure-client-secret":
            let marker = Bool.random(using: &rng) ? "8Q~" : "7Q~"
            let tailLength = marker == "8Q~" ? 34 : 31
            return draw(alnum, 3, using: &rng) + marker + azureSecretTail(tailLength, using: &rng)
        case "azure-storage-account-key":
            return randomBase64(64, using: &rng)
        case "azure-storage-connection-string":
            let account = pick(storageAccounts, using: &rng) + draw(lowerDigits, 3, using: &rng)
            let key = randomBase64(64, using: &rng)
            return "DefaultEndpointsProtocol=https;AccountName=\(account);AccountKey=\(key);EndpointSuffix=core.windows.net"
        case "azure-sas-token":
            return azureSASURL(using: &rng)
        case "azure-service-bus-key":
            let namespace = pick(busNamespaces, using: &rng)
            let key = randomBase64(32, using: &rng)
            var text = "Endpoint=sb://\(namespace).servicebus.windows.net/;SharedAccessKeyName="
            text += pick(["RootManageSharedAccessKey", "send-listen", "orders-publisher", "ListenOnly"], using: &rng)
            text += ";SharedAccessKey=\(key)"
            if Bool.random(using: &rng) { text += ";EntityPath=" + pick(["orders", "invoices", "telemetry", "audit-events"], using: &rng) }
            return text
        case "azure-cosmosdb-key":
            let account = pick(["orders", "catalog", "sessions", "inventory", "profiles"], using: &rng)
                + "-" + pick(["prod", "staging", "db", "cosmos"], using: &rng)
            let key = randomBase64(64, using: &rng)
            return "AccountEndpoint=https://\(account).documents.azure.com:443/;AccountKey=\(key);"

        case "gcp-service-account-key": return gcpServiceAccountKey(using: &rng)
        case "gcp-api-key": return "AIzaSy" + draw(base64URL, 33, using: &rng)
        case "gcp-oauth-client-secret": return "GOCSPX-" + draw(base64URL, 28, using: &rng)

        case "digitalocean-token":
            return pick(["dop_v1_", "dop_v1_", "doo_v1_", "dor_v1_"], using: &rng) + draw(lowerHex, 64, using: &rng)
        case "heroku-api-key": return "HRKU-AA" + draw(base64URL, 58, using: &rng)

        case "github-fine-grained-pat":
            return "github_pat_11" + draw(upperDigits, 20, using: &rng) + "_" + draw(alnum, 59, using: &rng)
        case "gitlab-pat":
            if int(in: 0..<4, using: &rng) == 0 {
                return "glpat-" + draw(base64URL, 27, using: &rng) + ".01." + draw(lowerDigits, 9, using: &rng)
            }
            return "glpat-" + draw(base64URL, 20, using: &rng)
        case "gitlab-pipeline-trigger-token": return "glptt-" + draw(lowerHex, 40, using: &rng)
        case "gitlab-runner-token":
            return Bool.random(using: &rng)
                ? "glrt-t1_" + draw(base64URL, 27, using: &rng)
                : "glrt-" + draw(base64URL, 20, using: &rng)

        case "pypi-token":
            return "pypi-AgEIcHlwaS5vcmc" + draw(base64URL, int(in: 140...170, using: &rng), using: &rng)
        case "dockerhub-pat": return "dckr_pat_" + draw(base64URL, 27, using: &rng)
        case "nuget-api-key": return "oy2" + draw(lowerDigits, 43, using: &rng)
        case "rubygems-api-key": return "rubygems_" + draw(lowerHex, 48, using: &rng)

        case "slack-bot-token":
            return "xoxb-" + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-" + draw(alnum, 24, using: &rng)
        case "slack-user-token":
            return pick(["xoxp-", "xoxp-", "xoxe-"], using: &rng) + slackNumber(using: &rng) + "-"
                + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-" + draw(lowerHex, 32, using: &rng)
        case "slack-app-token":
            return "xapp-1-A0" + draw(upperDigits, 9, using: &rng) + "-" + slackNumber(using: &rng) + "-" + draw(lowerHex, 64, using: &rng)
        case "slack-webhook-url":
            return "https://hooks.slack.com/services/T0" + draw(upperDigits, int(in: 7...9, using: &rng), using: &rng)
                + "/B0" + draw(upperDigits, int(in: 7...9, using: &rng), using: &rng) + "/" + draw(alnum, 24, using: &rng)

        case "stripe-secret-key":
            return stripeKey(prefix: "sk", using: &rng)
        case "stripe-restricted-key":
            return stripeKey(prefix: "rk", using: &rng)
        case "twilio-api-key": return "SK" + draw(lowerHex, 32, using: &rng)
        case "sendgrid-api-key":
            return "SG." + draw(base64URL, 22, using: &rng) + "." + draw(base64URL, 43, using: &rng)
        case "mailchimp-api-key":
            return draw(lowerHex, 32, using: &rng) + "-us" + String(int(in: 1...21, using: &rng))
        case "shopify-token":
            return pick(["shpat_", "shpat_", "shpca_", "shppa_", "shpss_"], using: &rng) + draw(lowerHex, 32, using: &rng)
        case "openai-api-key":
            switch int(in: 0..<4, using: &rng) {
            case 0: return "sk-" + draw(alnum, 20, using: &rng) + "T3BlbkFJ" + draw(alnum, 20, using: &rng)
            case 1: return "sk-svcacct-" + draw(base64URL, 74, using: &rng) + "T3BlbkFJ" + draw(base64URL, 74, using: &rng)
            default: return "sk-proj-" + draw(base64URL, 74, using: &rng) + "T3BlbkFJ" + draw(base64URL, 74, using: &rng)
            }
        case "anthropic-api-key":
            let kind = int(in: 0..<5, using: &rng) == 0 ? "admin01" : "api03"
            return "sk-ant-\(kind)-" + draw(base64URL, 93, using: &rng) + "AA"
        case "huggingface-token": return "hf_" + draw(letters, 34, using: &rng)
        case "newrelic-user-api-key": return "NRAK-" + draw(upperDigits, 27, using: &rng)
        case "telegram-bot-token":
            let id = draw(nonZeroDigits, 1, using: &rng) + draw(digits, int(in: 7...9, using: &rng), using: &rng)
            return id + ":AA" + draw(base64URL, 33, using: &rng)
        case "discord-webhook-url":
            let host = int(in: 0..<4, using: &rng) == 0 ? "discordapp.com" : "discord.com"
            let id = "1" + draw(digits, int(in: 17...18, using: &rng), using: &rng)
            return "https://\(host)/api/webhooks/\(id)/" + draw(base64URL, 68, using: &rng)
        case "square-access-token":
            return Bool.random(using: &rng)
                ? "EAAA" + draw(base64URL, 60, using: &rng)
                : "sq0atp-" + draw(base64URL, 22, using: &rng)
        case "square-oauth-secret": return "sq0csp-" + draw(base64URL, 43, using: &rng)
        case "postman-api-key":
            return "PMAK-" + draw(lowerHex, 24, using: &rng) + "-" + draw(lowerHex, 34, using: &rng)
        case "linear-api-key": return "lin_api_" + draw(alnum, 40, using: &rng)
        case "doppler-token":
            return "dp." + pick(["pt", "pt", "st", "sa", "ct"], using: &rng) + "." + draw(alnum, int(in: 40...44, using: &rng), using: &rng)
        case "vault-token":
            return Bool.random(using: &rng)
                ? "hvs.CAESI" + draw(base64URL, int(in: 86...90, using: &rng), using: &rng)
                : (Bool.random(using: &rng)
                    ? "hvs." + draw(alnum, 24, using: &rng)
                    : "hvb.AAAAAQ" + draw(base64URL, int(in: 120...140, using: &rng), using: &rng))
        case "terraform-cloud-token":
            return draw(alnum, 14, using: &rng) + ".atlasv1." + draw(alnum, 67, using: &rng)

        case "private-key": return pemPrivateKey(using: &rng)
        case "private-key-escaped":
            return pem(label: "PRIVATE KEY", der: pkcs8RSA(using: &rng)).replacingOccurrences(of: "\n", with: "\\n") + "\\n"
        case "openssh-private-key": return openSSHPrivateKey(using: &rng)
        case "putty-private-key": return puttyPrivateKey(using: &rng)
        case "pgp-private-key": return pgpPrivateKey(using: &rng)

        case "jwt": return jwt(using: &rng)
        case "url-password": return urlWithPassword(kind: Int.random(in: 0..<8, using: &rng), using: &rng)
        case "url-password-postgres": return urlWithPassword(kind: pick([0, 1], using: &rng), using: &rng)
        case "url-password-sqlalchemy": return urlWithPassword(kind: pick([1, 7], using: &rng), using: &rng)
        case "url-password-mysql": return urlWithPassword(kind: 2, using: &rng)
        case "url-password-mongodb": return urlWithPassword(kind: 3, using: &rng)
        case "url-password-redis": return urlWithPassword(kind: 4, using: &rng)
        case "url-password-amqp": return urlWithPassword(kind: 5, using: &rng)
        case "url-password-https": return urlWithPassword(kind: 6, using: &rng)
        case "connection-string-password": return connectionString(kind: Int.random(in: 0..<5, using: &rng), using: &rng)
        case "connection-string-password-sqlserver": return connectionString(kind: pick([0, 4], using: &rng), using: &rng)
        case "connection-string-password-postgres": return connectionString(kind: 1, using: &rng)
        case "connection-string-password-mysql": return connectionString(kind: 2, using: &rng)
        case "connection-string-password-oracle": return connectionString(kind: 3, using: &rng)
        case "generic-password": return humanPassword(using: &rng)
        case "generic-secret": return genericSecret(using: &rng)
        case "generic-password-hex":
            return draw(lowerHex, weighted([("40", 6), ("32", 1), ("64", 1)], using: &rng) == "40" ? 40 : pick([32, 64], using: &rng), using: &rng)
        case "generic-password-eq": return "=" + humanPassword(using: &rng)
        case "url-password-redis-nouser":
            return pick(["redis", "rediss"], using: &rng) + "://:" + urlSafePassword(using: &rng) + "@"
                + pick(["redis-master.cache.svc.cluster.local:6379/0", "cache.prod.acme-corp.io:6380", "10.30.1.12:6379/3"], using: &rng)
        case "private-key-rsa4096":
            let body = der([0x30, 0x82, 0x09, 0x28, 0x02, 0x01, 0x00, 0x02, 0x82, 0x02, 0x01, 0x00], total: 0x928 + 4, using: &rng)
            return pem(label: "RSA PRIVATE KEY", der: body)

        case "slack-legacy-token": return slackLegacyToken(bot: int(in: 0..<3, using: &rng) == 0, using: &rng)
        case "slack-legacy-token-bot": return slackLegacyToken(bot: true, using: &rng)
        case "slack-config-token": return slackConfigToken(refresh: int(in: 0..<3, using: &rng) == 0, using: &rng)
        case "slack-config-token-refresh": return slackConfigToken(refresh: true, using: &rng)
        case "huggingface-org-token": return "api_org_" + draw(letters, 34, using: &rng)
        case "sourcegraph-token":
            switch int(in: 0..<3, using: &rng) {
            case 0: return "sgp_" + draw(lowerHex, 16, using: &rng) + "_" + draw(lowerHex, 40, using: &rng)
            case 1: return "sgp_local_" + draw(lowerHex, 40, using: &rng)
            default: return "sgp_" + draw(lowerHex, 40, using: &rng)
            }
        case "notion-token": return "ntn_" + draw(digits, 11, using: &rng) + draw(alnum, 35, using: &rng)
        case "sentry-token": return Bool.random(using: &rng) ? sentryOrgToken(using: &rng) : "sntryu_" + draw(lowerHex, 64, using: &rng)
        case "sentry-token-org": return sentryOrgToken(using: &rng)
        case "sentry-token-user": return "sntryu_" + draw(lowerHex, 64, using: &rng)
        case "cloudflare-origin-ca-key": return "v1.0-" + draw(lowerHex, 24, using: &rng) + "-" + draw(lowerHex, 146, using: &rng)
        case "onepassword-service-account-token": return onePasswordServiceAccountToken(using: &rng)
        case "sidekiq-credential": return draw(lowerHex, 8, using: &rng) + ":" + draw(lowerHex, 8, using: &rng)
        case "jenkins-encrypted-secret":
            let length = 16 * int(in: 1...3, using: &rng)
            let blob: [UInt8] = [0x01] + uint32(16) + uint32(length) + randomBytes(16 + length, using: &rng)
            return "{" + base64(blob) + "}"
        case "databricks-token":
            return "dapi" + draw(lowerHex, 32, using: &rng) + (int(in: 0..<3, using: &rng) == 0 ? "-" + String(int(in: 2...9, using: &rng)) : "")
        case "grafana-api-key":
            let name = pick(["deploy", "terraform", "ci-dashboards", "alert-sync", "admin"], using: &rng)
            let json = "{\"k\":\"" + draw(alnum, 32, using: &rng) + "\",\"n\":\"\(name)\",\"id\":\(int(in: 1...40, using: &rng))}"
            return base64(Array(json.utf8))
        case "grafana-cloud-token":
            let name = pick(["acme-prod", "acme-metrics", "orders-stack"], using: &rng) + "-" + pick(["alloy", "terraform", "ci-publisher", "otlp-writer"], using: &rng)
            let region = pick(["prod-eu-west-0", "prod-us-east-0", "prod-ap-southeast-1", "prod-us-central-0"], using: &rng)
            let json = "{\"o\":\"" + draw(nonZeroDigits, 1, using: &rng) + draw(digits, 6, using: &rng) + "\",\"n\":\"\(name)\",\"k\":\""
                + draw(alnum, 24, using: &rng) + "\",\"m\":{\"r\":\"\(region)\"}}"
            return "glc_" + base64(Array(json.utf8))
        case "grafana-service-account-token":
            let secret = draw(alnum, 32, using: &rng)
            let crc = crc32(Array(("glsa_" + secret).utf8))
            // Grafana writes the CRC32 of prefix and secret as its four bytes, least significant first, in hex.
            return "glsa_" + secret + "_" + hex([UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)])
        case "docker-registry-auth": return dockerAuth(using: &rng)
        case "docker-config-json":
            let registry = pick(["registry.acme-corp.io", "ghcr.io", "https://index.docker.io/v1/", "acme.jfrog.io", "harbor.internal:5000"], using: &rng)
            return "{\"auths\":{\"\(registry)\":{\"auth\":\"" + dockerAuth(using: &rng) + "\"}}}"
        case "http-authorization-header":
            switch int(in: 0..<3, using: &rng) {
            case 0: return draw(alnum, int(in: 32...48, using: &rng), using: &rng)
            case 1: return draw(base64URL, 43, using: &rng)
            default: return draw(lowerHex, 48, using: &rng)
            }
        case "http-authorization-header-basic":
            return base64(Array((pick(["deploy", "ci-bot", "admin", "svc-reports", "jenkins"], using: &rng) + ":" + humanPassword(using: &rng)).utf8))
        case "aws-presigned-url": return draw(lowerHex, 64, using: &rng)

        default:
            preconditionFailure("SecretFactory: unknown rule id \(rule)")
        }
    }

    // MARK: - Checksummed tokens

    /// `prefix` + `bodyLength` random `[0-9A-Za-z]` + the 6-character base-62 CRC32 of the body.
    static func checksummed(_ prefix: String, bodyLength: Int, using rng: inout some RandomNumberGenerator) -> String {
        let body = draw(alnum, bodyLength, using: &rng)
        return prefix + body + base62Checksum(of: body)
    }

    /// The IEEE CRC32 of the string's UTF-8 bytes in base 62 (`0-9A-Za-z`), most significant digit
    /// first, left-padded with `0` to 6 characters.
    static func base62Checksum(of body: String) -> String {
        var value = UInt64(crc32(Array(body.utf8)))
        var digits = [UInt8](repeating: alnum[0], count: 6)
        for index in stride(from: 5, through: 0, by: -1) {
            digits[index] = alnum[Int(value % 62)]
            value /= 62
        }
        return String(decoding: digits, as: UTF8.self)
    }

    private static let crcTable: [UInt32] = (0..<256).map { entry in
        var crc = UInt32(entry)
        for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }

    /// IEEE 802.3 CRC32, reflected, table-driven. `crc32("123456789") == 0xCBF43926`.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    // MARK: - Character classes and drawing

    private static func chars(_ text: String) -> [UInt8] { Array(text.utf8) }
    static let digits = chars("0123456789")
    private static let nonZeroDigits = chars("123456789")
    static let alnum = chars("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    private static let letters = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    private static let lowerHex = chars("0123456789abcdef")
    private static let lowerDigits = chars("abcdefghijklmnopqrstuvwxyz0123456789")
    private static let upperDigits = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    private static let upperBase32 = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    private static let base64NoPad = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    private static let base64URL = chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    private static let passwordSymbols = chars("!*-_.+=^~?@")

    /// Substrings a random value must not contain: they would turn a positive into a documented
    /// non-secret (docs/scanner-rules.md, "Not secrets") or just read as a word.
    /// Runs and stems that read as fillers (issue 13, shape 8) are forbidden too.
    private static let forbidden = ["example", "xxxx", "****", "placeholder", "changeme", "your", "test", "dummy", "fake", "sample", "secret", "token", "passw",
                                    "abcdef", "123456", "xyz", "abc123", "a1b2c3", "1a2b3c", "qwerty"]

    /// `count` characters drawn uniformly from `alphabet`, redrawn if they spell a forbidden word.
    static func draw(_ alphabet: [UInt8], _ count: Int, using rng: inout some RandomNumberGenerator) -> String {
        while true {
            var out = [UInt8]()
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]) }
            let text = String(decoding: out, as: UTF8.self)
            if isClean(text) { return text }
        }
    }

    private static func isClean(_ text: String) -> Bool {
        let lower = text.lowercased()
        return !forbidden.contains { lower.contains($0) }
    }

    private static func int(in range: Range<Int>, using rng: inout some RandomNumberGenerator) -> Int {
        Int.random(in: range, using: &rng)
    }

    private static func int(in range: ClosedRange<Int>, using rng: inout some RandomNumberGenerator) -> Int {
        Int.random(in: range, using: &rng)
    }

    private static func pick<T>(_ items: [T], using rng: inout some RandomNumberGenerator) -> T {
        items[Int.random(in: 0..<items.count, using: &rng)]
    }

    private static func weighted(_ items: [(String, Int)], using rng: inout some RandomNumberGenerator) -> String {
        var roll = Int.random(in: 0..<items.reduce(0) { $0 + $1.1 }, using: &rng)
        for (item, weight) in items {
            if roll < weight { return item }
            roll -= weight
        }
        return items[items.count - 1].0
    }

    static func randomBytes(_ count: Int, using rng: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    private static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// Standard base64 of `count` random bytes, redrawn while it spells a forbidden word.
    private static func randomBase64(_ count: Int, using rng: inout some RandomNumberGenerator) -> String {
        while true {
            let text = base64(randomBytes(count, using: &rng))
            if isClean(text) { return text }
        }
    }

    private static func base64URLNoPad(_ bytes: [UInt8]) -> String {
        base64(bytes).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    // MARK: - Cloud providers

    private static let storageAccounts = ["stordersprod", "stmedia", "stbackups", "stdatalake", "stinvoices", "sttelemetry"]
    private static let busNamespaces = ["sb-orders-prod", "acme-events", "evh-telemetry-weu", "sb-billing", "ns-integration-prod"]

    private static func awsSessionToken(using rng: inout some RandomNumberGenerator) -> String {
        let region = pick(["dXMtZWFzdC0x", "ZXUtd2VzdC0x", "dXMtd2VzdC0y", "ZXUtY2VudHJhbC0x"], using: &rng)
        var token = "IQoJb3JpZ2luX2Vj" + draw(base64NoPad, 4, using: &rng) + "//////////wEaC" + region + "IkcwRQIh"
        token += draw(base64NoPad, int(in: 560...760, using: &rng), using: &rng)
        return token + pick(["", "=", "=="], using: &rng)
    }

    private static func azureSecretTail(_ count: Int, using rng: inout some RandomNumberGenerator) -> String {
        // Entra secrets are mostly alphanumeric with a sprinkling of `_~.-`; the last character is
        // alphanumeric so the value ends cleanly at a word boundary.
        var out = ""
        for index in 0..<count {
            if index < count - 1, int(in: 0..<10, using: &rng) == 0 {
                out += draw(chars("_~.-"), 1, using: &rng)
            } else {
                out += draw(alnum, 1, using: &rng)
            }
        }
        return isClean(out) ? out : azureSecretTail(count, using: &rng)
    }

    private static func azureSASURL(using rng: inout some RandomNumberGenerator) -> String {
        let sig = randomBase64(32, using: &rng).replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
            .replacingOccurrences(of: "=", with: "%3D")
        let account = pick(storageAccounts, using: &rng) + draw(lowerDigits, 3, using: &rng)
        let year = int(in: 2025...2027, using: &rng)
        let month = String(format: "%02d", int(in: 1...12, using: &rng))
        let start = "\(year - 1)-\(month)-01T00:00:00Z"
        let expiry = "\(year)-\(month)-28T23:59:59Z"
        switch int(in: 0..<3, using: &rng) {
        case 0:
            let container = pick(["exports", "uploads", "backups", "reports", "media"], using: &rng)
            return "https://\(account).blob.core.windows.net/\(container)?sv=2022-11-02&ss=b&srt=sco&sp=rl&se=\(expiry)&st=\(start)&spr=https&sig=\(sig)"
        case 1:
            let blob = pick(["exports/2024/ledger.csv", "reports/monthly.parquet", "media/catalog.zip"], using: &rng)
            return "https://\(account).blob.core.windows.net/\(blob)?sp=r&st=\(start)&se=\(expiry)&spr=https&sv=2022-11-02&sr=b&sig=\(sig)"
        default:
            let queue = pick(["ingest", "thumbnails", "webhooks"], using: &rng)
            return "https://\(account).queue.core.windows.net/\(queue)?sv=2021-08-06&ss=q&srt=o&sp=rau&se=\(expiry)&st=\(start)&spr=https&sig=\(sig)"
        }
    }

    private static func gcpServiceAccountKey(using rng: inout some RandomNumberGenerator) -> String {
        let project = pick(["acme-prod", "billing-data", "orders-platform", "ml-pipelines", "analytics-warehouse"], using: &rng)
            + "-" + String(int(in: 100_000...999_999, using: &rng))
        let account = pick(["bq-loader", "ci-deployer", "gcs-sync", "pubsub-worker", "vertex-trainer"], using: &rng)
        let email = "\(account)@\(project).iam.gserviceaccount.com"
        let keyID = draw(lowerHex, 40, using: &rng)
        let clientID = "1" + draw(digits, 20, using: &rng)
        let privateKey = pem(label: "PRIVATE KEY", der: pkcs8RSA(using: &rng)).replacingOccurrences(of: "\n", with: "\\n") + "\\n"
        let encodedEmail = email.replacingOccurrences(of: "@", with: "%40")
        return """
        {
          "type": "service_account",
          "project_id": "\(project)",
          "private_key_id": "\(keyID)",
          "private_key": "\(privateKey)",
          "client_email": "\(email)",
          "client_id": "\(clientID)",
          "auth_uri": "https://accounts.google.com/o/oauth2/auth",
          "token_uri": "https://oauth2.googleapis.com/token",
          "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
          "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/\(encodedEmail)",
          "universe_domain": "googleapis.com"
        }
        """
    }

    // MARK: - SaaS tokens

    private static func slackNumber(using rng: inout some RandomNumberGenerator) -> String {
        draw(nonZeroDigits, 1, using: &rng) + draw(digits, int(in: 9...12, using: &rng), using: &rng)
    }

    /// The two-segment legacy bot token `xoxb-<digits>-<alnum>`, or a legacy user (`xoxs-`, `xoxo-`)
    /// or workspace-app (`xoxa-2-`, `xoxr-`) token.
    private static func slackLegacyToken(bot: Bool, using rng: inout some RandomNumberGenerator) -> String {
        if bot { return "xoxb-" + slackNumber(using: &rng) + "-" + draw(alnum, 24, using: &rng) }
        switch int(in: 0..<4, using: &rng) {
        case 0, 1:
            return pick(["xoxs-", "xoxo-"], using: &rng) + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-"
                + slackNumber(using: &rng) + "-" + draw(lowerHex, pick([32, 64], using: &rng), using: &rng)
        case 2:
            return "xoxa-2-" + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-" + draw(lowerHex, 64, using: &rng)
        default:
            return "xoxr-" + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-" + draw(alnum, 36, using: &rng)
        }
    }

    /// An app configuration access token (`xoxe.xoxp-1-` or `xoxe.xoxb-1-` + 163–166 characters) or
    /// refresh token (`xoxe-1-` + 146): the body is unpadded base64 of `2-<ids>-<hex>`, alphanumeric.
    private static func slackConfigToken(refresh: Bool, using rng: inout some RandomNumberGenerator) -> String {
        let rawLength = refresh ? 109 : int(in: 122...124, using: &rng)
        while true {
            var raw = "2-" + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-" + slackNumber(using: &rng) + "-"
            raw += draw(lowerHex, rawLength - raw.count, using: &rng)
            let body = base64(Array(raw.utf8)).replacingOccurrences(of: "=", with: "")
            guard body.utf8.allSatisfy({ alnum.contains($0) }), isClean(body) else { continue }
            return (refresh ? "xoxe-1-" : "xoxe." + pick(["xoxp", "xoxp", "xoxb"], using: &rng) + "-1-") + body
        }
    }

    /// `sntrys_` + base64 of the token's JSON claims (`iat`, `url`, `region_url`, `org`) + `_` + the
    /// unpadded base64 of 32 random bytes, as Sentry issues organisation tokens.
    private static func sentryOrgToken(using rng: inout some RandomNumberGenerator) -> String {
        let iat = String(int(in: 1_690_000_000...1_760_000_000, using: &rng)) + "." + draw(digits, 6, using: &rng)
        let (url, region) = pick([("https://sentry.io", "https://us.sentry.io"), ("https://sentry.io", "https://de.sentry.io"),
                                  ("https://sentry.acme-corp.io", "https://sentry.acme-corp.io")], using: &rng)
        let org = pick(["acme-corp", "acme", "orders-team", "acme-mobile"], using: &rng)
        let json = "{\"iat\":\(iat),\"url\":\"\(url)\",\"region_url\":\"\(region)\",\"org\":\"\(org)\"}"
        return "sntrys_" + base64(Array(json.utf8)) + "_" + randomBase64(32, using: &rng).replacingOccurrences(of: "=", with: "")
    }

    /// `ops_` + base64 of the service account's sign-in JSON (address, SRP parameters, email, MUK,
    /// secret key), the layout 1Password service-account tokens have.
    private static func onePasswordServiceAccountToken(using rng: inout some RandomNumberGenerator) -> String {
        let address = pick(["acme-corp.1password.com", "my.1password.com", "acme.1password.eu"], using: &rng)
        let secretKey = "A3-" + draw(upperDigits, 6, using: &rng) + "-" + draw(upperDigits, 6, using: &rng) + "-"
            + (0..<4).map { _ in draw(upperDigits, 5, using: &rng) }.joined(separator: "-")
        var json = "{\"signInAddress\":\"\(address)\",\"userAuth\":{\"method\":\"SRPg-4096\",\"alg\":\"PBES2g-HS256\","
        json += "\"iterations\":650000,\"salt\":\"" + draw(base64URL, 22, using: &rng) + "\"},"
        json += "\"email\":\"" + draw(chars("abcdefghijklmnopqrstuvwxyz234567"), 13, using: &rng) + "@1passwordserviceaccounts.com\","
        json += "\"srpX\":\"" + draw(lowerHex, 64, using: &rng) + "\","
        json += "\"muk\":{\"alg\":\"A256GCM\",\"ext\":true,\"k\":\"" + draw(base64URL, 43, using: &rng)
        json += "\",\"key_ops\":[\"encrypt\",\"decrypt\"],\"kty\":\"oct\",\"kid\":\"mp\"},"
        json += "\"secretKey\":\"\(secretKey)\",\"throttleSecret\":{\"seed\":\"" + draw(lowerHex, 64, using: &rng)
        json += "\",\"uuid\":\"" + draw(upperDigits, 26, using: &rng) + "\"},\"deviceUuid\":\"" + draw(lowerDigits, 26, using: &rng) + "\"}"
        return "ops_" + base64(Array(json.utf8)).replacingOccurrences(of: "=", with: "")
    }

    /// Base64 of `user:password`, as `docker login` writes it into `config.json`.
    private static func dockerAuth(using rng: inout some RandomNumberGenerator) -> String {
        let user = pick(["ci-bot", "deploy", "acme-ci", "robot$orders+puller", "jenkins"], using: &rng)
        let password = Bool.random(using: &rng) ? humanPassword(using: &rng) : draw(alnum, int(in: 20...32, using: &rng), using: &rng)
        return base64(Array("\(user):\(password)".utf8))
    }

    private static func stripeKey(prefix: String, using rng: inout some RandomNumberGenerator) -> String {
        let mode = int(in: 0..<4, using: &rng) == 0 ? "test" : "live"
        if Bool.random(using: &rng) {
            return "\(prefix)_\(mode)_" + draw(alnum, 24, using: &rng)
        }
        return "\(prefix)_\(mode)_51" + draw(alnum, 97, using: &rng)
    }

    // MARK: - Keys

    private static func pem(label: String, der: [UInt8]) -> String {
        "-----BEGIN \(label)-----\n" + wrap(base64(der), width: 64) + "\n-----END \(label)-----"
    }

    private static func wrap(_ text: String, width: Int) -> String {
        var lines: [Substring] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            lines.append(rest.prefix(width))
            rest = rest.dropFirst(width)
        }
        return lines.joined(separator: "\n")
    }

    /// A DER-ish body: the real leading bytes of the structure, then random bytes up to `total`.
    private static func der(_ prefix: [UInt8], total: Int, using rng: inout some RandomNumberGenerator) -> [UInt8] {
        prefix + randomBytes(total - prefix.count, using: &rng)
    }

    private static func pkcs8RSA(using rng: inout some RandomNumberGenerator) -> [UInt8] {
        der([0x30, 0x82, 0x04, 0xBD, 0x02, 0x01, 0x00, 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7,
             0x0D, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x82, 0x04, 0xA7, 0x30, 0x82, 0x04, 0xA3, 0x02, 0x01,
             0x00, 0x02, 0x82, 0x01, 0x01, 0x00], total: 0x4BD + 4, using: &rng)
    }

    private static func pemPrivateKey(using rng: inout some RandomNumberGenerator) -> String {
        switch weighted([("rsa", 7), ("pkcs8", 6), ("ec", 3), ("pkcs8-ec", 2), ("encrypted", 1), ("dsa", 1)], using: &rng) {
        case "rsa":
            let body = der([0x30, 0x82, 0x04, 0xA4, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00], total: 0x4A4 + 4, using: &rng)
            return pem(label: "RSA PRIVATE KEY", der: body)
        case "pkcs8":
            return pem(label: "PRIVATE KEY", der: pkcs8RSA(using: &rng))
        case "ec":
            let body = [0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20] + randomBytes(32, using: &rng)
                + [0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0xA1, 0x44, 0x03, 0x42, 0x00, 0x04]
                + randomBytes(64, using: &rng)
            return pem(label: "EC PRIVATE KEY", der: body)
        case "pkcs8-ec":
            let body = [0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02,
                        0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x04, 0x6D, 0x30, 0x6B, 0x02,
                        0x01, 0x01, 0x04, 0x20] + randomBytes(32, using: &rng)
                + [0xA1, 0x44, 0x03, 0x42, 0x00, 0x04] + randomBytes(64, using: &rng)
            return pem(label: "PRIVATE KEY", der: body)
        case "encrypted":
            let body = der([0x30, 0x82, 0x05, 0x0E, 0x30, 0x40, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01,
                            0x05, 0x0D, 0x30, 0x33, 0x30, 0x1B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01,
                            0x05, 0x0C, 0x30, 0x0E, 0x04, 0x08], total: 0x50E + 4, using: &rng)
            return pem(label: "ENCRYPTED PRIVATE KEY", der: body)
        default:
            let body = der([0x30, 0x82, 0x01, 0xBB, 0x02, 0x01, 0x00, 0x02, 0x81, 0x81, 0x00], total: 0x1BB + 4, using: &rng)
            return pem(label: "DSA PRIVATE KEY", der: body)
        }
    }

    private static func sshString(_ bytes: [UInt8]) -> [UInt8] { uint32(bytes.count) + bytes }
    private static func sshString(_ text: String) -> [UInt8] { sshString(Array(text.utf8)) }
    private static func uint32(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    private static let keyComments = ["deploy@ci-runner-03", "jenkins@build01", "ops@bastion", "git@gitlab-runner",
                                      "svc-backup@db-replica-2", "ansible@mgmt01", "root@web-01"]

    /// An unencrypted openssh-key-v1 Ed25519 key, laid out as ssh-keygen writes it.
    private static func openSSHPrivateKey(using rng: inout some RandomNumberGenerator) -> String {
        let publicKey = randomBytes(32, using: &rng)
        let publicBlob = sshString("ssh-ed25519") + sshString(publicKey)
        let check = randomBytes(4, using: &rng)
        var privateSection = check + check + sshString("ssh-ed25519") + sshString(publicKey)
            + sshString(randomBytes(32, using: &rng) + publicKey) + sshString(pick(keyComments, using: &rng))
        var pad: UInt8 = 1
        while privateSection.count % 8 != 0 { privateSection.append(pad); pad += 1 }
        let body = Array("openssh-key-v1".utf8) + [0] + sshString("none") + sshString("none") + sshString("")
            + uint32(1) + sshString(publicBlob) + sshString(privateSection)
        return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + wrap(base64(body), width: 70) + "\n-----END OPENSSH PRIVATE KEY-----"
    }

    private static func puttyPrivateKey(using rng: inout some RandomNumberGenerator) -> String {
        let date = "20" + String(int(in: 19...25, using: &rng)) + String(format: "%02d%02d", int(in: 1...12, using: &rng), int(in: 1...28, using: &rng))
        if Bool.random(using: &rng) {
            let publicBlob = sshString("ssh-ed25519") + sshString(randomBytes(32, using: &rng))
            let privateBlob = sshString(randomBytes(32, using: &rng))
            return """
            PuTTY-User-Key-File-3: ssh-ed25519
            Encryption: none
            Comment: eddsa-key-\(date)
            Public-Lines: 2
            \(wrap(base64(publicBlob), width: 64))
            Private-Lines: 1
            \(wrap(base64(privateBlob), width: 64))
            Private-MAC: \(hex(randomBytes(32, using: &rng)))
            """
        }
        var modulus = randomBytes(256, using: &rng)
        modulus[0] |= 0x80
        let publicBlob = sshString("ssh-rsa") + sshString([0x01, 0x00, 0x01]) + sshString([0] + modulus)
        let privateBlob = sshString(randomBytes(256, using: &rng)) + sshString([0] + randomBytes(128, using: &rng))
            + sshString([0] + randomBytes(128, using: &rng)) + sshString(randomBytes(128, using: &rng))
        let publicText = wrap(base64(publicBlob), width: 64)
        let privateText = wrap(base64(privateBlob), width: 64)
        return """
        PuTTY-User-Key-File-2: ssh-rsa
        Encryption: none
        Comment: rsa-key-\(date)
        Public-Lines: \(publicText.split(separator: "\n").count)
        \(publicText)
        Private-Lines: \(privateText.split(separator: "\n").count)
        \(privateText)
        Private-MAC: \(hex(randomBytes(20, using: &rng)))
        """
    }

    /// An ASCII-armoured transferable secret key with a correct CRC-24 armour checksum.
    private static func pgpPrivateKey(using rng: inout some RandomNumberGenerator) -> String {
        let created = uint32(int(in: 1_550_000_000...1_740_000_000, using: &rng))
        var packet: [UInt8] = [0x95, 0x03, 0xC6, 0x04] + created + [0x01, 0x08, 0x00]
        packet += randomBytes(0x3C6 - 8, using: &rng)
        let name = pick(["Release Signing Key <release@acme-corp.io>", "Build Bot <builds@acme-corp.io>",
                         "Debian Repo Signing <apt@acme-corp.io>"], using: &rng)
        let userID: [UInt8] = [0xB4, UInt8(name.utf8.count)] + Array(name.utf8)
        let signature: [UInt8] = [0x89, 0x01, 0xD4, 0x04, 0x13, 0x01, 0x0A, 0x00] + randomBytes(0x1D4 - 5, using: &rng)
        let subkey: [UInt8] = [0x9D, 0x03, 0xC6, 0x04] + created + [0x01, 0x08, 0x00] + randomBytes(0x3C6 - 8, using: &rng)
        let body = packet + userID + signature + subkey
        let crc = crc24(body)
        let checksum = base64([UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        return "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + wrap(base64(body), width: 64) + "\n=" + checksum
            + "\n-----END PGP PRIVATE KEY BLOCK-----"
    }

    private static func crc24(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xB7_04CE
        for byte in bytes {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x100_0000 != 0 { crc ^= 0x186_4CFB }
            }
        }
        return crc & 0xFF_FFFF
    }

    // MARK: - JWT

    private static func jwt(using rng: inout some RandomNumberGenerator) -> String {
        let alg = pick(["RS256", "RS256", "ES256", "HS256"], using: &rng)
        var header = "{\"alg\":\"\(alg)\",\"typ\":\"JWT\""
        if alg != "HS256" { header += ",\"kid\":\"" + draw(base64URL, 22, using: &rng) + "\"" }
        header += "}"
        let iat = int(in: 1_700_000_000...1_760_000_000, using: &rng)
        let exp = iat + pick([900, 3600, 86_400, 2_592_000], using: &rng)
        let issuer = pick(["https://login.acme-corp.io/", "https://auth.orders.internal", "https://sts.windows.net/9b7e3c2a-5f14-4d8e-b6a1-0c3e7d92f548/",
                           "https://accounts.acme-corp.io/realms/prod", "sigil://acme/prod"], using: &rng)
        let audience = pick(["api://orders", "https://api.acme-corp.io", "billing-service", "account", "urn:acme:reporting"], using: &rng)
        let subject = pick(["svc-", "user-", "app-"], using: &rng) + draw(lowerDigits, 12, using: &rng)
        var payload = "{\"iss\":\"\(issuer)\",\"sub\":\"\(subject)\",\"aud\":\"\(audience)\",\"iat\":\(iat),\"exp\":\(exp)"
        switch int(in: 0..<3, using: &rng) {
        case 0: payload += ",\"scope\":\"" + pick(["orders.read orders.write", "reports.read", "admin", "payments:charge"], using: &rng) + "\""
        case 1: payload += ",\"email\":\"" + pick(["dana.kim", "r.osei", "mlopez", "priya.n"], using: &rng) + "@acme-corp.io\",\"roles\":[\"operator\"]"
        default: payload += ",\"jti\":\"" + draw(base64URL, 16, using: &rng) + "\""
        }
        payload += "}"
        let signatureBytes = alg == "RS256" ? 256 : (alg == "ES256" ? 64 : 32)
        var signature = ""
        while signature.isEmpty || !isClean(signature) { signature = base64URLNoPad(randomBytes(signatureBytes, using: &rng)) }
        return base64URLNoPad(Array(header.utf8)) + "." + base64URLNoPad(Array(payload.utf8)) + "." + signature
    }

    // MARK: - Passwords and generic secrets

    private static let words = ["Harbor", "Maple", "Falcon", "Copper", "Lantern", "Orbit", "Juniper", "Granite", "Velvet",
                                "Cobalt", "Meadow", "Thistle", "Quartz", "Saffron", "Tundra", "Willow", "Ember", "Glacier",
                                "Pioneer", "Marble", "Nimbus", "Pepper", "Raven", "Summit", "Topaz", "Walnut", "Zephyr",
                                "Beacon", "Cactus", "Dahlia", "Fjord", "Hazel", "Indigo", "Kestrel", "Lotus", "Mosaic",
                                "Nectar", "Otter", "Prairie", "Quill", "Rocket", "Sierra", "Timber", "Violet", "Wombat"]

    /// A strong password a person would pick: words, digits and a symbol or two, 10–20 characters.
    private static func humanPassword(using rng: inout some RandomNumberGenerator) -> String {
        while true {
            let first = pick(words, using: &rng)
            let second = pick(words, using: &rng)
            guard first != second else { continue }
            let symbol = draw(passwordSymbols, 1, using: &rng)
            let number = String(int(in: 2...9999, using: &rng))
            var candidate: String
            switch int(in: 0..<5, using: &rng) {
            case 0: candidate = first + symbol + second + number
            case 1: candidate = first.lowercased() + number + second + symbol
            case 2: candidate = first + number + symbol + second.lowercased()
            case 3: candidate = leet(first) + symbol + second + number + draw(passwordSymbols, 1, using: &rng)
            default: candidate = second + symbol + first.lowercased() + symbol + number
            }
            if (10...20).contains(candidate.count) { return candidate }
        }
    }

    private static func leet(_ word: String) -> String {
        String(word.map { character -> Character in
            switch character {
            case "o": "0"
            case "e": "3"
            case "a": "@"
            case "i": "1"
            default: character
            }
        })
    }

    private static func genericSecret(using rng: inout some RandomNumberGenerator) -> String {
        switch int(in: 0..<5, using: &rng) {
        case 0: return draw(alnum, int(in: 24...48, using: &rng), using: &rng)
        case 1: return draw(lowerHex, pick([48, 64], using: &rng), using: &rng)
        case 2:
            return randomBase64(pick([24, 32, 33, 45], using: &rng), using: &rng)
        case 3: return draw(base64URL, int(in: 32...64, using: &rng), using: &rng)
        default: return draw(alnum, 32, using: &rng)
        }
    }

    // MARK: - URLs and connection strings

    /// A strong password that needs no percent-encoding inside a URL.
    private static func urlSafePassword(using rng: inout some RandomNumberGenerator) -> String {
        var text = draw(alnum, int(in: 14...26, using: &rng), using: &rng)
        for _ in 0..<int(in: 0...2, using: &rng) {
            let index = text.index(text.startIndex, offsetBy: int(in: 1..<(text.count - 1), using: &rng))
            text.insert(Character(UnicodeScalar(draw(chars("-_.~"), 1, using: &rng))!), at: index)
        }
        return text
    }

    /// `kind`: 0, 1 PostgreSQL; 7 PostgreSQL for SQLAlchemy; 2 MySQL; 3 MongoDB; 4 Redis; 5 AMQP; 6 HTTPS (package index).
    private static func urlWithPassword(kind: Int, using rng: inout some RandomNumberGenerator) -> String {
        let password = urlSafePassword(using: &rng)
        switch kind {
        case 0:
            let user = pick(["app_user", "orders_svc", "reporting", "etl"], using: &rng)
            return "postgres://\(user):\(password)@" + pick(["db.internal:5432/orders", "pg-primary.prod.svc.cluster.local:5432/billing", "10.20.4.17:5432/analytics"], using: &rng)
        case 1:
            return "postgresql://" + pick(["warehouse", "django", "airflow"], using: &rng) + ":\(password)@"
                + pick(["postgres.acme-corp.io:5432/warehouse?sslmode=require", "rds-prod.c9xk2mz1vq4d.eu-west-1.rds.amazonaws.com:5432/app"], using: &rng)
        case 2:
            return "mysql://" + pick(["wordpress", "shop", "root"], using: &rng) + ":\(password)@" + pick(["mysql-01.internal:3306/shop", "127.0.0.1:3306/cms"], using: &rng)
        case 3:
            return "mongodb+srv://" + pick(["catalog-api", "events", "admin"], using: &rng) + ":\(password)@"
                + pick(["cluster0.h3k9x.mongodb.net/catalog?retryWrites=true&w=majority", "prod-shard.a1b2c.mongodb.net/events"], using: &rng)
        case 4:
            return pick(["redis", "rediss"], using: &rng) + "://default:\(password)@" + pick(["redis-cache.internal:6379/0", "cache.prod.acme-corp.io:6380/2"], using: &rng)
        case 5:
            return pick(["amqp", "amqps"], using: &rng) + "://" + pick(["orders", "worker", "celery"], using: &rng) + ":\(password)@" + pick(["rabbitmq.internal:5672/%2F", "mq.prod.acme-corp.io:5671/orders"], using: &rng)
        case 6:
            return "https://" + pick(["deploy", "ci-bot", "jenkins"], using: &rng) + ":\(password)@" + pick(["nexus.acme-corp.io/repository/pypi-internal/simple", "artifacts.internal/api/npm/npm-local/"], using: &rng)
        default:
            return "postgresql+psycopg2://" + pick(["etl_writer", "superset"], using: &rng) + ":\(password)@" + pick(["warehouse.internal:5432/dwh", "10.0.3.41/metrics"], using: &rng)
        }
    }

    /// `kind`: 0 Azure SQL, 4 on-premises SQL Server; 1 PostgreSQL (Npgsql); 2 MySQL; 3 Oracle.
    private static func connectionString(kind: Int, using rng: inout some RandomNumberGenerator) -> String {
        var password = urlSafePassword(using: &rng)
        if Bool.random(using: &rng) { password += draw(chars("!*^@"), 1, using: &rng) }
        switch kind {
        case 0:
            let server = pick(["sql-orders-prod", "sqlsrv-billing", "acme-sql-weu"], using: &rng)
            return "Server=tcp:\(server).database.windows.net,1433;Initial Catalog=" + pick(["Orders", "Billing", "Identity"], using: &rng)
                + ";Persist Security Info=False;User ID=" + pick(["orders_app", "svc_billing", "sqladmin"], using: &rng)
                + ";Password=\(password);MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;"
        case 1:
            return "Host=" + pick(["pg-prod.internal", "10.12.0.8", "postgres.acme-corp.io"], using: &rng) + ";Port=5432;Database="
                + pick(["inventory", "payments", "keycloak"], using: &rng) + ";Username=" + pick(["inventory_rw", "payments", "kc"], using: &rng)
                + ";Password=\(password);SSL Mode=Require;Trust Server Certificate=true"
        case 2:
            return "Server=" + pick(["mysql-01.internal", "db.shop.local", "172.16.4.20"], using: &rng) + ";Port=3306;Database="
                + pick(["shop", "crm", "wiki"], using: &rng) + ";Uid=" + pick(["shop_app", "crm", "wiki_rw"], using: &rng) + ";Pwd=\(password);SslMode=Preferred;"
        case 3:
            return "Data Source=" + pick(["oradb01.corp.local:1521/ORCLPDB1", "erp-db.internal:1521/ERP"], using: &rng) + ";User Id="
                + pick(["erp_reader", "APPS"], using: &rng) + ";Password=\(password);Pooling=true;Connection Lifetime=300;"
        default:
            return "Data Source=" + pick(["sql01.corp.local", "10.1.2.30,1433"], using: &rng) + ";Initial Catalog="
                + pick(["Warehouse", "Reporting", "HR"], using: &rng) + ";User Id=" + pick(["report_user", "svc_hr"], using: &rng)
                + ";Password=\(password);TrustServerCertificate=True;"
        }
    }
}

/// SplitMix64: a tiny, fast, well-mixed generator, so a corpus seed reproduces the same secrets.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
