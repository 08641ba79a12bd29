import ArgumentParser
import Foundation
import Logging
import SigilCommandLine
import SigilCore
import SigilServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Sigil server (SQLite and self-signed TLS in ./sigil-data by default).")

    @Option(help: "Data folder: SQLite file, TLS material, key-encryption key, admin key.")
    var data = "./sigil-data"

    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen = "127.0.0.1:8443"

    @Option(help: "postgres://USER[:PASSWORD]@HOST[:PORT]/DB for shared storage, or an SQLite file path.")
    var database: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain to serve instead of the generated one.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("issuer-url"), help: "Public base URL when behind a proxy, e.g. https://sigil.example.com.")
    var issuerURL: String?

    @Option(name: .customLong("trusted-proxy"), help: "A reverse proxy (address or CIDR) whose X-Forwarded-For names the client; repeat for several.")
    var trustedProxies: [String] = []

    @Option(name: .customLong("key-rotation"), help: "How often signing keys rotate, as an ISO-8601 duration.")
    var keyRotation = "P30D"

    @Option(name: .customLong("jwks-max-age"), help: "How long resource servers may cache the JWKS (ISO-8601); new keys are published this long before they sign.")
    var jwksMaxAge = "PT5M"

    @Option(name: .customLong("sign-in-retention"), help: "How long sign-ins are kept, as an ISO-8601 duration of at least P1D.")
    var signInRetention = "P30D"

    @Option(
        name: .customLong("risk-learning-period"),
        help: "How long after its first sign-in a workload's networks and credential types are only learned, before new ones raise suspiciousSignins (ISO-8601, PT0S to P365D).")
    var riskLearningPeriod = "P14D"

    @Option(
        name: [.customLong("vault-purge-interval"), .customLong("retention-interval")],
        help: "How often ended retentions are acted on: deleted vault secrets purged, secrets a finished migration disabled deleted (ISO-8601, at least PT1S).")
    var vaultPurgeInterval = "PT1H"

    @Option(
        name: .customLong("vault-domain"),
        help: "Vaults are served at https://NAME.DOMAIN and the vault resource is https://DOMAIN; the generated certificate covers *.DOMAIN.")
    var vaultDomain = ServerConfiguration.defaultVaultDomain

    @Option(name: .customLong("vault-event-poll"), help: "How often due webhook deliveries (vault events and alerts) are sent (ISO-8601, PT0.1S to PT1M).")
    var vaultEventPoll = "PT2S"

    @Option(name: .customLong("vault-event-scan"), help: "How often secrets are checked for near expiry and expiry (ISO-8601, PT1S to P1D).")
    var vaultEventScan = "PT1M"

    @Option(name: .customLong("vault-event-retry"), help: "The wait after a webhook delivery's (vault event or alert) first failure, doubled after each (ISO-8601, PT0.1S to PT1H).")
    var vaultEventRetry = "PT10S"

    @Option(name: .customLong("vault-event-attempts"), help: "Attempts at a webhook delivery (vault event or alert) before it is dead-lettered (1 to 30).")
    var vaultEventAttempts = 10

    @Option(name: .customLong("alert-scan"), help: "How often sign-in spikes and expiring credentials are looked for (ISO-8601, PT1S to P1D).")
    var alertScan = "PT1M"

    @Option(
        name: .customLong("rotation-minimum-period"),
        help: "The shortest --every and --overlap a secret rotation policy may have (ISO-8601, PT1S to P1D); below a minute, rotation also runs that often. For tests.")
    var rotationMinimumPeriod = "PT1H"

    @Option(name: .customLong("handshake-timeout"), help: "Longest a client may take over the TLS handshake (ISO-8601).")
    var handshakeTimeout = "PT10S"

    @Option(name: .customLong("header-timeout"), help: "Longest a client may take to send a request's headers (ISO-8601).")
    var headerTimeout = "PT20S"

    @Option(name: .customLong("body-timeout"), help: "Longest a client may take to send a request's body (ISO-8601).")
    var bodyTimeout = "PT30S"

    @Option(name: .customLong("idle-timeout"), help: "Longest a kept-alive connection may sit idle (ISO-8601).")
    var idleTimeout = "PT60S"

    @Option(name: .customLong("max-connections"), help: "Client connections open at once; more are closed on accept.")
    var maxConnections = 1000

    @Option(name: .customLong("metrics"), help: "on: measure and serve Prometheus metrics at /metrics; off: neither.")
    var metrics = "on"

    @Option(
        name: .customLong("metrics-token-file"),
        help: "A file holding the bearer token (16 to 512 characters) /metrics wants from clients not on loopback; without it only loopback clients are served.")
    var metricsTokenFile: String?

    @Option(name: .customLong("metrics-refresh"), help: "How long /metrics reuses the credential expiries it reads from the store (ISO-8601, PT0S to PT1H).")
    var metricsRefresh = "PT30S"

    @Option(
        name: .customLong("directory-feed"),
        help: "PostgreSQL: on, learn of directory changes by LISTEN/NOTIFY; off, read the change counter on every token request (behind a pooler in transaction mode).")
    var directoryFeed = "on"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(name: .customLong("log-format"), help: "text, or json: one JSON object a line, for log collectors.")
    var logFormat = "text"

    func validate() throws {
        guard parseListen() != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8443") }
        guard ISO8601Duration.seconds(keyRotation).map({ $0 >= 60 }) == true else {
            throw ValidationError("--key-rotation must be an ISO-8601 duration of at least a minute, e.g. P30D")
        }
        guard ISO8601Duration.seconds(signInRetention).map({ $0 >= SignInMaintenance.minimumRetention }) == true else {
            throw ValidationError("--sign-in-retention must be an ISO-8601 duration of at least a day (P1D): single-use assertion ids are kept on sign-ins")
        }
        guard ISO8601Duration.seconds(riskLearningPeriod).map({ $0 >= 0 && $0 <= 365 * 86_400 }) == true else {
            throw ValidationError("--risk-learning-period must be an ISO-8601 duration from PT0S to P365D, e.g. P14D")
        }
        guard ISO8601Duration.seconds(rotationMinimumPeriod).map({ $0 >= 1 && $0 <= 86_400 }) == true else {
            throw ValidationError("--rotation-minimum-period must be an ISO-8601 duration from PT1S to P1D, e.g. PT1H")
        }
        guard ISO8601Duration.seconds(jwksMaxAge).map({ $0 >= 0 && $0 <= 86_400 }) == true else {
            throw ValidationError("--jwks-max-age must be an ISO-8601 duration of at most a day, e.g. PT5M")
        }
        for (flag, value) in timeouts where ISO8601Duration.seconds(value).map({ $0 > 0 && $0 <= 3600 }) != true {
            throw ValidationError("--\(flag) must be an ISO-8601 duration between 0 and an hour, e.g. PT30S")
        }
        for (flag, value, range, shown) in vaultEventPeriods where ISO8601Duration.seconds(value).map(range.contains) != true {
            throw ValidationError("--\(flag) must be an ISO-8601 duration from \(shown), not '\(value)'")
        }
        guard (1...30).contains(vaultEventAttempts) else { throw ValidationError("--vault-event-attempts must be between 1 and 30") }
        guard ISO8601Duration.seconds(vaultPurgeInterval).map({ $0 >= 1 && $0 <= 86_400 }) == true else {
            throw ValidationError("--vault-purge-interval must be an ISO-8601 duration from PT1S to P1D, e.g. PT1H")
        }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be between 1 and 1000000") }
        for proxy in trustedProxies where IPNetwork(proxy) == nil {
            throw ValidationError("--trusted-proxy '\(proxy)' is not an IP address or CIDR network, e.g. 10.0.0.0/8 or 127.0.0.1")
        }
        guard ["on", "off"].contains(metrics) else { throw ValidationError("--metrics must be on or off") }
        guard ["on", "off"].contains(directoryFeed) else { throw ValidationError("--directory-feed must be on or off") }
        guard ISO8601Duration.seconds(metricsRefresh).map({ $0 >= 0 && $0 <= 3600 }) == true else {
            throw ValidationError("--metrics-refresh must be an ISO-8601 duration from PT0S to PT1H, e.g. PT30S")
        }
        if metricsTokenFile != nil, metrics == "off" { throw ValidationError("--metrics-token-file needs --metrics on") }
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a log level") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        do {
            try VaultRules.checkVaultDomain(vaultDomain)
        } catch {
            throw ValidationError("--vault-domain: \(error)")
        }
    }

    private var vaultEventPeriods: [(flag: String, value: String, range: ClosedRange<TimeInterval>, shown: String)] {
        [
            ("vault-event-poll", vaultEventPoll, 0.1...60, "PT0.1S to PT1M"), ("vault-event-scan", vaultEventScan, 1...86_400, "PT1S to P1D"),
            ("vault-event-retry", vaultEventRetry, 0.1...3600, "PT0.1S to PT1H"), ("alert-scan", alertScan, 1...86_400, "PT1S to P1D"),
        ]
    }

    private var timeouts: [(flag: String, value: String)] {
        [("handshake-timeout", handshakeTimeout), ("header-timeout", headerTimeout), ("body-timeout", bodyTimeout), ("idle-timeout", idleTimeout)]
    }

    private func duration(_ text: String) -> Duration { .milliseconds(Int64(ISO8601Duration.seconds(text)! * 1000)) }

    /// The token in `path`, without surrounding white space: 16 to 512 printable ASCII characters.
    static func readMetricsToken(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServerError.configuration("--metrics-token-file \(path) cannot be read")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard (16...512).contains(token.count), token.unicodeScalars.allSatisfy({ (0x21...0x7e).contains($0.value) }) else {
            throw ServerError.configuration("--metrics-token-file \(path) must hold one token of 16 to 512 printable characters without spaces")
        }
        return token
    }

    func parseListen() -> (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        LogFormat(rawValue: logFormat)!.bootstrap()
        var logger = Logger(label: "sigil")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var configuration = ServerConfiguration()
        configuration.dataPath = data
        (configuration.host, configuration.port) = parseListen()!
        configuration.database = database
        configuration.tlsCertificatePath = tlsCert
        configuration.tlsKeyPath = tlsKey
        configuration.issuerURL = issuerURL
        configuration.keyRotationInterval = ISO8601Duration.seconds(keyRotation)!
        configuration.trustedProxies = TrustedProxies(trustedProxies.compactMap(IPNetwork.init))
        configuration.jwksMaxAge = ISO8601Duration.seconds(jwksMaxAge)!
        configuration.signInRetention = ISO8601Duration.seconds(signInRetention)!
        configuration.riskLearningPeriod = ISO8601Duration.seconds(riskLearningPeriod)!
        configuration.vaultDomain = vaultDomain.lowercased()
        configuration.rotationMinimumPeriod = ISO8601Duration.seconds(rotationMinimumPeriod)!
        configuration.connectionLimits.handshake = duration(handshakeTimeout)
        configuration.connectionLimits.header = duration(headerTimeout)
        configuration.connectionLimits.body = duration(bodyTimeout)
        configuration.connectionLimits.idle = duration(idleTimeout)
        configuration.connectionLimits.maximumConnections = maxConnections
        configuration.vaultEvents.pollInterval = duration(vaultEventPoll)
        configuration.vaultEvents.scanInterval = ISO8601Duration.seconds(vaultEventScan)!
        configuration.vaultEvents.retryBase = ISO8601Duration.seconds(vaultEventRetry)!
        configuration.vaultEvents.maximumAttempts = vaultEventAttempts
        configuration.alerts.scanInterval = ISO8601Duration.seconds(alertScan)!
        configuration.vaultPurgeInterval = duration(vaultPurgeInterval)
        configuration.metrics = metrics == "on"
        configuration.directoryFeed = directoryFeed == "on"
        configuration.metricsRefreshInterval = ISO8601Duration.seconds(metricsRefresh)!
        let server: SigilServer
        do {
            configuration.metricsToken = try metricsTokenFile.map(Self.readMetricsToken)
            configuration.environmentKeys = try ServerConfiguration.EnvironmentKeys.from(ProcessInfo.processInfo.environment)
            server = try await SigilServer.prepare(configuration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("error: cannot start: \(error)\n".utf8))
            throw ExitCode.failure
        }
        try await server.run { ready in
            var lines = ["Sigil is listening on \(ready.listenURL)"]
            if ready.baseURL != ready.listenURL { lines.append("  issuer URL: \(ready.baseURL)") }
            lines += [
                "  tenant:     \(ready.tenantId)",
                "  authority:  \(ready.authority)",
            ]
            if let ca = ready.caFile { lines.append("  trust CA:   \(ca)") }
            if let key = ready.adminKeyFile {
                let caOption = ready.caFile.map { " --ca \($0)" } ?? ""
                lines.append("  admin CLI:  sigil login --server \(ready.baseURL)\(caOption) --key \(key)")
            }
            print(lines.joined(separator: "\n"))
            fflush(nil)
        }
    }
}
