/// The built-in rules and the detectors that report them; docs/scanner-rules.md is the
/// user-facing table and must list the same ids.
public enum BuiltinRules {
    private static func rule(_ id: String, _ description: String, _ precedence: Int = 3, severity: Rule.Severity = .high) -> Rule {
        Rule(id: id, description: description, precedence: precedence, severity: severity)
    }

    // Rules several detectors report, or that detectors other than `TokenDetector` report.
    public static let awsSecretAccessKey = rule("aws-secret-access-key", "AWS secret access key", 2)
    public static let awsSessionToken = rule("aws-session-token", "AWS session token", 2)
    public static let azureStorageAccountKey = rule("azure-storage-account-key", "Azure Storage account key", 2)
    public static let azureStorageConnectionString = rule("azure-storage-connection-string", "Azure Storage connection string", 2)
    public static let azureServiceBusKey = rule("azure-service-bus-key", "Azure Service Bus / Event Hubs / Relay shared access key", 2)
    public static let azureCosmosDBKey = rule("azure-cosmosdb-key", "Azure Cosmos DB account key", 2)
    public static let azureSASToken = rule("azure-sas-token", "Azure shared access signature", 2)
    public static let gcpServiceAccountKey = rule("gcp-service-account-key", "Google Cloud service-account key", 4)
    public static let privateKey = rule("private-key", "Private key (PEM)")
    public static let opensshPrivateKey = rule("openssh-private-key", "OpenSSH private key")
    public static let puttyPrivateKey = rule("putty-private-key", "PuTTY private key")
    public static let pgpPrivateKey = rule("pgp-private-key", "PGP private key block")
    public static let urlPassword = rule("url-password", "Password embedded in a URL", 2)
    public static let connectionStringPassword = rule("connection-string-password", "Password in a connection string", 2)
    public static let genericPassword = rule("generic-password", "Password assigned in code or configuration", 1)
    public static let genericSecret = rule("generic-secret", "Secret, token or API key assigned in code or configuration", 1)
    public static let httpAuthorizationHeader = rule("http-authorization-header", "Credential in an HTTP Authorization header (Bearer or Basic)", 2)
    public static let awsPresignedURL = rule("aws-presigned-url", "AWS presigned URL (signature and credential)", 4)
    public static let dockerRegistryAuth = rule("docker-registry-auth", "Docker registry login in config.json (`auth`)")
    public static let sidekiqCredential = rule("sidekiq-credential", "Sidekiq Pro / Enterprise licence credentials")
    /// Not a rule: a context rule's judgement that a value is not a secret, which hides what other
    /// rules found in the same bytes and is never reported.
    static let notASecret = Rule(id: "-not-a-secret", description: "judged not to be a secret", precedence: 100)

    /// Tokens with a shape of their own: (rule id, description, [(before, keyword, after)], check).
    private static let tokenFormats: [(String, String, [(String?, String, String)], TokenDetector.Check)] = baseFormats + contextFormats

    private static let baseFormats: [(String, String, [(String?, String, String)], TokenDetector.Check)] = [
        ("sigil-client-secret", "Sigil client secret", [(nil, "sgs_", "[0-9A-Za-z]{46}")], .sigilSecret),
        ("sigil-join-token", "Sigil agent join token", [(nil, "sgj_", "[0-9A-Za-z]{46}")], .sigilSecret),
        ("aws-access-key-id", "AWS access key id", ["AKIA", "ASIA", "ABIA", "ACCA"].map { (nil, $0, "[A-Z2-7]{16}") }, .none),
        ("azure-client-secret", "Microsoft Entra ID client secret",
         ["7Q~", "8Q~"].map { ("[0-9A-Za-z_~.\\-]{3}", $0, "[0-9A-Za-z_~.\\-]{31,34}") }, .none),
        ("gcp-api-key", "Google API key", [(nil, "AIza", "[0-9A-Za-z_\\-]{35}")], .none),
        ("gcp-oauth-client-secret", "Google OAuth client secret", [(nil, "GOCSPX-", "[0-9A-Za-z_\\-]{28}")], .none),
        ("digitalocean-token", "DigitalOcean token", ["dop_v1_", "doo_v1_", "dor_v1_"].map { (nil, $0, "[0-9a-f]{64}") }, .none),
        ("heroku-api-key", "Heroku API key", [(nil, "HRKU-AA", "[0-9A-Za-z_\\-]{58}")], .none),
        ("github-pat", "GitHub personal access token (classic)", [(nil, "ghp_", "[0-9A-Za-z]{36}")], .base62CRC32(prefixLength: 4)),
        ("github-oauth-token", "GitHub OAuth access token", [(nil, "gho_", "[0-9A-Za-z]{36}")], .base62CRC32(prefixLength: 4)),
        ("github-user-token", "GitHub App user-to-server token", [(nil, "ghu_", "[0-9A-Za-z]{36}")], .base62CRC32(prefixLength: 4)),
        ("github-app-token", "GitHub App installation token", [(nil, "ghs_", "[0-9A-Za-z]{36}")], .base62CRC32(prefixLength: 4)),
        ("github-refresh-token", "GitHub refresh token", [(nil, "ghr_", "[0-9A-Za-z]{36}")], .base62CRC32(prefixLength: 4)),
        ("github-fine-grained-pat", "GitHub fine-grained personal access token", [(nil, "github_pat_", "[0-9A-Za-z]{22}_[0-9A-Za-z]{59}")], .none),
        ("gitlab-pat", "GitLab access token", [(nil, "glpat-", "[0-9A-Za-z_\\-]{20,}.?[0-9a-z]{0,2}.?[0-9a-z]{0,12}")], .none),
        ("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", [(nil, "glptt-", "[0-9a-f]{40}")], .none),
        ("gitlab-runner-token", "GitLab runner authentication token", [(nil, "glrt-", "[0-9A-Za-z_\\-]{20,}")], .none),
        ("npm-token", "npm access token", [(nil, "npm_", "[0-9A-Za-z]{36}")], .base62CRC32(prefixLength: 4)),
        ("pypi-token", "PyPI upload token", [(nil, "pypi-AgEIcHlwaS5vcmc", "[0-9A-Za-z_\\-]{50,}")], .none),
        ("dockerhub-pat", "Docker Hub personal access token", [(nil, "dckr_pat_", "[0-9A-Za-z_\\-]{27}")], .none),
        ("nuget-api-key", "NuGet API key", [(nil, "oy2", "[a-z0-9]{43}")], .none),
        ("rubygems-api-key", "RubyGems API key", [(nil, "rubygems_", "[0-9a-f]{48}")], .none),
        ("slack-bot-token", "Slack bot token", [(nil, "xoxb-", "[0-9]{10,13}-[0-9]{10,13}-[0-9A-Za-z]{24}")], .none),
        ("slack-user-token", "Slack user token",
         ["xoxp-", "xoxe-"].map { (nil, $0, "[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[0-9a-f]{32}") }, .none),
        ("slack-app-token", "Slack app-level token", [(nil, "xapp-1-", "[0-9A-Z]{9,12}-[0-9]{10,13}-[0-9a-f]{64}")], .none),
        ("slack-webhook-url", "Slack incoming webhook URL",
         [(nil, "https://hooks.slack.com/services/T", "[0-9A-Z]{8,12}/B[0-9A-Z]{8,12}/[0-9A-Za-z]{24}")], .none),
        ("stripe-secret-key", "Stripe secret key", ["sk_live_", "sk_test_"].map { (nil, $0, "[0-9A-Za-z]{24,99}") }, .none),
        ("stripe-restricted-key", "Stripe restricted key", ["rk_live_", "rk_test_"].map { (nil, $0, "[0-9A-Za-z]{24,99}") }, .none),
        ("twilio-api-key", "Twilio API key", [(nil, "SK", "[0-9a-f]{32}")], .none),
        ("sendgrid-api-key", "SendGrid API key", [(nil, "SG.", "[0-9A-Za-z_\\-]{22}.[0-9A-Za-z_\\-]{43}")], .none),
        ("mailchimp-api-key", "Mailchimp API key", [("[0-9a-f]{32}", "-us", "[0-9]{1,2}")], .none),
        ("shopify-token", "Shopify access token or shared secret",
         ["shpat_", "shpca_", "shppa_", "shpss_"].map { (nil, $0, "[0-9a-fA-F]{32}") }, .none),
        ("openai-api-key", "OpenAI API key",
         ["sk-proj-", "sk-svcacct-", "sk-admin-"].map { (nil, $0, "[0-9A-Za-z_\\-]{40,}") }
            + [("sk-[0-9A-Za-z]{20}", "T3BlbkFJ", "[0-9A-Za-z]{20}")], .none),
        ("anthropic-api-key", "Anthropic API key",
         ["sk-ant-api03-", "sk-ant-admin01-"].map { (nil, $0, "[0-9A-Za-z_\\-]{95}") }, .none),
        ("huggingface-token", "Hugging Face access token", [(nil, "hf_", "[A-Za-z]{34}")], .none),
        ("newrelic-user-api-key", "New Relic user API key", [(nil, "NRAK-", "[0-9A-Z]{27}")], .none),
        ("telegram-bot-token", "Telegram bot token", [("[0-9]{8,10}", ":AA", "[0-9A-Za-z_\\-]{33}")], .none),
        ("discord-webhook-url", "Discord webhook URL",
         ["https://discord.com/api/webhooks/", "https://discordapp.com/api/webhooks/"].map { (nil, $0, "[0-9]{17,20}/[0-9A-Za-z_\\-]{60,68}") }, .none),
        ("square-access-token", "Square access token",
         [(nil, "EAAA", "[0-9A-Za-z_\\-]{60}"), (nil, "sq0atp-", "[0-9A-Za-z_\\-]{22}")], .none),
        ("square-oauth-secret", "Square OAuth secret", [(nil, "sq0csp-", "[0-9A-Za-z_\\-]{43}")], .none),
        ("postman-api-key", "Postman API key", [(nil, "PMAK-", "[0-9a-f]{24}-[0-9a-f]{34}")], .none),
        ("linear-api-key", "Linear API key", [(nil, "lin_api_", "[0-9A-Za-z]{40}")], .none),
        ("doppler-token", "Doppler token",
         ["pt", "st", "sa", "ct", "scim", "audit"].map { (nil, "dp.\($0).", "[0-9A-Za-z]{40,44}") }, .none),
        ("vault-token", "HashiCorp Vault token", ["hvs.", "hvb."].map { (nil, $0, "[0-9A-Za-z_\\-]{24,}") }, .none),
        ("terraform-cloud-token", "Terraform Cloud / Enterprise API token",
         [("[0-9A-Za-z]{14}", ".atlasv1.", "[0-9A-Za-z_=\\-]{60,70}")], .none),
        ("jwt", "JSON Web Token", [(nil, "eyJ", "[0-9A-Za-z_\\-]{10,1024}.eyJ[0-9A-Za-z_\\-]{10,8192}.[0-9A-Za-z_\\-]{16,1024}")], .jwtHeader),
    ]

    /// The formats of issue 13.
    private static let contextFormats: [(String, String, [(String?, String, String)], TokenDetector.Check)] = [
        ("slack-legacy-token", "Slack legacy token (two-segment bot, xoxs, xoxo, xoxa, xoxr)",
         [(nil, "xoxb-", "[0-9]{8,14}-[0-9A-Za-z]{18,26}")]
            + ["xoxs-", "xoxo-", "xoxa-", "xoxr-"].map { (nil, $0, "[0-9A-Za-z\\-]{10,250}") }, .slackLegacy),
        ("slack-config-token", "Slack app configuration token (access or refresh)",
         ["xoxe.xoxp-", "xoxe.xoxb-", "xoxe-"].map { (nil, $0, "[0-9]-[0-9A-Za-z]{100,250}") }, .none),
        ("huggingface-org-token", "Hugging Face organisation token", [("api", "_org_", "[A-Za-z]{34}")], .none),
        ("sourcegraph-token", "Sourcegraph access token",
         [(nil, "sgp_", "[0-9a-fA-F]{40}"), (nil, "sgp_", "[0-9a-fA-F]{16}_[0-9a-fA-F]{40}"), (nil, "sgp_local_", "[0-9a-fA-F]{40}")], .none),
        ("notion-token", "Notion integration token", [("n", "tn_", "[0-9A-Za-z]{40,56}")], .none),
        ("sentry-token", "Sentry organisation or user auth token",
         [(nil, "sntrys_", "eyJ[0-9A-Za-z+/]{20,2000}={0,2}_[0-9A-Za-z+/]{43}"), (nil, "sntryu_", "[0-9a-f]{64}")],
         .embeddedJSON(prefix: "sntrys_", keys: ["iat", "org", "url", "region_url"], secretAfterUnderscore: true)),
        ("cloudflare-origin-ca-key", "Cloudflare origin CA key", [(nil, "v1.0-", "[0-9a-f]{24}-[0-9a-f]{146}")], .none),
        ("onepassword-service-account-token", "1Password service-account token",
         [(nil, "ops_", "eyJ[0-9A-Za-z+/_\\-]{60,8000}={0,3}")],
         .embeddedJSON(prefix: "ops_", keys: ["signInAddress", "email", "secretKey", "srpX", "muk"])),
        ("jenkins-encrypted-secret", "Jenkins encrypted secret (credentials.xml); needs the server's master key",
         [(nil, "{AQAAABAAAA", "[0-9A-Za-z+/]{20,8000}={0,2}\\}")], .none),
        ("databricks-token", "Databricks personal access token",
         [(nil, "dapi", "[0-9a-f]{32}"), (nil, "dapi", "[0-9a-f]{32}-[0-9]")], .none),
        ("grafana-api-key", "Grafana API key (legacy)", [(nil, "eyJrIjoi", "[0-9A-Za-z+/]{30,400}={0,2}")], .embeddedJSON(prefix: "", keys: ["k", "n", "id"])),
        ("grafana-cloud-token", "Grafana Cloud access policy token", [(nil, "glc_", "[0-9A-Za-z+/]{32,400}={0,2}")],
         .embeddedJSON(prefix: "glc_", keys: ["o", "n", "k"])),
        ("grafana-service-account-token", "Grafana service account token", [(nil, "glsa_", "[0-9A-Za-z]{32}_[0-9a-fA-F]{8}")], .none),
    ]

    /// Rules whose findings are of low severity.
    static let lowSeverity: Set<String> = ["jenkins-encrypted-secret"]

    /// Every built-in detector.
    public static let detectors: [any Detector] = {
        var detectors: [any Detector] = []
        for (id, description, formats, check) in tokenFormats {
            let rule = rule(id, description, severity: lowSeverity.contains(id) ? .low : .high)
            for (before, keyword, after) in formats {
                detectors.append(TokenDetector(rule, before: before, keyword: keyword, after: after, check: check))
            }
        }
        detectors += [
            PrivateKeyDetector(), PuTTYKeyDetector(), ServiceAccountKeyDetector(), URLPasswordDetector(),
            ConnectionStringPasswordDetector(), AzureConnectionStringDetector(), SASTokenDetector(), AssignmentDetector(),
            CommandLineDetector(), EncodedKeyDetector(), DockerAuthDetector(), KubernetesSecretDetector(),
            PresignedURLDetector(), SidekiqCredentialDetector(),
        ]
        return detectors
    }()

    /// Every built-in rule id with its description, in the order of docs/scanner-rules.md.
    public static let rules: [Rule] = {
        let tokenRules = tokenFormats.map { rule($0.0, $0.1, severity: lowSeverity.contains($0.0) ? .low : .high) }
        return tokenRules + [
            awsSecretAccessKey, awsSessionToken, azureStorageAccountKey, azureStorageConnectionString, azureServiceBusKey,
            azureCosmosDBKey, azureSASToken, gcpServiceAccountKey, privateKey, opensshPrivateKey, puttyPrivateKey,
            pgpPrivateKey, urlPassword, connectionStringPassword, genericPassword, genericSecret,
            httpAuthorizationHeader, awsPresignedURL, dockerRegistryAuth, sidekiqCredential,
        ]
    }()
}
