import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import SigilCore
import SigilStore

/// What `sigil serve` is told.
public struct ServerConfiguration: Sendable {
    public var dataPath = "./sigil-data"
    public var host = "127.0.0.1"
    public var port = 8443
    /// A `postgres://` URL or an SQLite path; `nil` is `DATA/sigil.sqlite`.
    public var database: String?
    /// PostgreSQL: learn of directory changes by `LISTEN`/`NOTIFY` (false: read the change
    /// counter on every token request, for a pooler in transaction mode, which drops notifications).
    public var directoryFeed = true
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// The public URL when behind a proxy; default `https://HOST:PORT` of the listener.
    public var issuerURL: String?
    public var keyRotationInterval: TimeInterval = 30 * 86_400
    /// How often each replica reloads signing keys, which bounds how long it signs with a key
    /// another replica has just retired (the retired key stays published meanwhile).
    public var keyRefreshInterval: Duration = .seconds(10)
    /// How long resource servers may cache the JWKS (`Cache-Control: max-age`); a new key is
    /// published at least this long before it signs.
    public var jwksMaxAge: TimeInterval = 300
    /// Limits on fetching federated issuers' metadata and keys.
    public var outboundLimits = FetchLimits()
    /// Deadlines for each stage of a client connection, and the cap on open connections.
    public var connectionLimits = ConnectionLimits()
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default).
    public var trustedProxies = TrustedProxies([])
    /// How long sign-ins are kept (at least a day: `SignInMaintenance.minimumRetention`).
    public var signInRetention: TimeInterval = 30 * 86_400
    /// How long a service principal's sign-ins are only learned from before new networks and
    /// credential types count as suspicious (`--risk-learning-period`).
    public var riskLearningPeriod: TimeInterval = SignInRiskRules.defaultLearningPeriod
    /// Vaults are served at `https://NAME.VAULT_DOMAIN`, and the vault resource is `https://VAULT_DOMAIN`.
    public var vaultDomain = defaultVaultDomain
    public static let defaultVaultDomain = "vault.localhost"
    /// How vault events are delivered to their webhooks.
    public var vaultEvents = VaultEventSettings()
    public var alerts = AlertSettings()
    /// The shortest `every` and `overlap` a secret rotation policy may have
    /// (`--rotation-minimum-period`); the rotation service wakes this often when it is under a minute.
    public var rotationMinimumPeriod = SecretRotationPolicy.defaultMinimumPeriod
    /// `SIGIL_KEK` (and `SIGIL_KEK_PREVIOUS`); nil: `DATA/kek`.
    public var environmentKeys: EnvironmentKeys?
    /// How often deleted secrets whose retention has ended are purged (`--vault-purge-interval`).
    public var vaultPurgeInterval: Duration = .seconds(3600)
    /// Whether the server measures itself and serves `/metrics` (`--metrics on|off`).
    public var metrics = true
    /// The bearer token `/metrics` wants from clients not on loopback (`--metrics-token-file`);
    /// nil: loopback clients only.
    public var metricsToken: String?
    /// How long the credential expiries `/metrics` reads from the store are reused (`--metrics-refresh`).
    public var metricsRefreshInterval: TimeInterval = 30

    /// The key-encryption keys given in the environment instead of `DATA/kek`: `SIGIL_KEK` seals
    /// and opens; `SIGIL_KEK_PREVIOUS`, during a rotation, only opens.
    public struct EnvironmentKeys: Sendable {
        public var current: String
        public var previous: String?

        public init(current: String, previous: String? = nil) {
            self.current = current
            self.previous = previous
        }

        /// `SIGIL_KEK` and `SIGIL_KEK_PREVIOUS` from `environment`; nil when `SIGIL_KEK` is unset.
        public static func from(_ environment: [String: String]) throws -> EnvironmentKeys? {
            guard let current = environment["SIGIL_KEK"] else {
                guard environment["SIGIL_KEK_PREVIOUS"] == nil else {
                    throw ServerError.configuration("SIGIL_KEK_PREVIOUS is set but SIGIL_KEK is not: the previous key only opens, set the current one in SIGIL_KEK")
                }
                return nil
            }
            return EnvironmentKeys(current: current, previous: environment["SIGIL_KEK_PREVIOUS"])
        }
    }

    public init() {}
}

/// What a started server tells the operator (and tests).
public struct ServerReadiness: Sendable {
    public let tenantId: String
    /// The issuer's base URL: `--issuer-url`, else the listener's.
    public let baseURL: String
    /// Where the server itself listens (behind a proxy, not the issuer's URL).
    public let listenURL: String
    public let authority: String
    public let port: Int
    /// The CA that signed the server's certificate, when Sigil generated it.
    public let caFile: String?
    public let adminKeyFile: String?
    public let tenantCreated: Bool
}

/// The Sigil server: the token service, discovery, the admin API, and the background jobs, over
/// one store, shut down together on SIGTERM / SIGINT (or task cancellation).
public final class SigilServer: Sendable {
    public let configuration: ServerConfiguration
    public let store: Store
    public let keys: SigningKeyRing
    public let urls: ServerURLs
    public let tenant: Tenant
    /// Seals and opens vault data keys: read `kek.ring` when sealing or opening, since a rotation changes it.
    let kek: KeyEncryptionKeys
    let kekRotation: KeyEncryptionKeyRotation
    let folder: DataFolder
    let tls: (certificate: String, key: String, ca: String?)
    let tenantCreated: Bool
    let logger: Logger
    let recorder: SignInRecorder
    let unknownClients: UnknownClientFailures
    /// Performs secret rotation steps, for the rotation service and the admin API.
    let rotator: SecretRotator
    let metrics: ServerMetrics
    private let serviceGroup = Mutex<ServiceGroup?>(nil)

    /// Opens the data folder and store, bootstraps the default tenant and the signing keys.
    public static func prepare(_ configuration: ServerConfiguration, logger: Logger) async throws -> SigilServer {
        guard (configuration.tlsCertificatePath == nil) == (configuration.tlsKeyPath == nil) else {
            throw ServerError.configuration("--tls-cert and --tls-key go together")
        }
        // What can be checked without touching anything comes first: a refusal leaves no data folder behind.
        try await Self.checkListenAddress(host: configuration.host, port: configuration.port)
        if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
            try TLSFiles.checkPair(certificate: certificate, key: key)
        }
        let folder = try DataFolder(path: configuration.dataPath)
        // The store first: it refuses a second process on an SQLite file before anything else
        // in the data folder is touched. Then the key-encryption key, before any migration or
        // file: a key that does not open the store is refused with everything left as it was.
        let location = StoreLocation(argument: configuration.database ?? folder.path("sigil.sqlite"))
        let metrics = ServerMetrics(enabled: configuration.metrics)
        let store = try await Store.open(
            location, logger: logger, migrating: false, directoryFeed: configuration.directoryFeed, metrics: metrics.factory)
        do {
            let opened = try await KeyEncryptionKeyFile.open(folder, environment: configuration.environmentKeys, store: store)
            try await store.migrate()
            // Today's partition must exist before the first sign-in: one made while sign-ins for
            // its day are being written can fail their inserts (they were routed to the default).
            _ = await SignInMaintenance.preparePartitions(store: store, now: Date(), logger: logger)
            try opened.persist(in: folder)
            let tls: (certificate: String, key: String, ca: String?)
            if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
                tls = (certificate, key, nil)
            } else {
                let generated = try SelfSignedTLS.ensure(in: folder, vaultDomain: configuration.vaultDomain, logger: logger)
                tls = (generated.certificate, generated.key, generated.ca)
            }
            let kek = KeyEncryptionKeys(opened.ring)
            let (tenant, created) = try await TenantBootstrap.ensureDefaultTenant(
                store: store, folder: folder, vaultDomain: configuration.vaultDomain, logger: logger)
            try await IssuerPin.settle(store: store, tenant: tenant, configuration: configuration, logger: logger)
            try await TenantBootstrap.ensureTokenExchangeResource(store: store, tenant: tenant, logger: logger)
            try await TenantBootstrap.ensureVaultResource(store: store, tenant: tenant, domain: configuration.vaultDomain, logger: logger)
            if let policy = try await store.defaultAppManagementPolicy(tenantId: tenant.id), !policy.blocksSecrets {
                logger.notice("the default app management policy lets apps add client secrets; `sigil policy app set --block-secrets` refuses new ones")
            }
            // One SQLite process publishes a key the moment it is stored; PostgreSQL replicas do by
            // their next refresh.
            let publicationLag = store.dialect == .postgres ? Double(configuration.keyRefreshInterval.components.seconds) : 0
            let keys = SigningKeyRing(
                store: store, kek: kek, rotationInterval: configuration.keyRotationInterval,
                promotionDelay: configuration.jwksMaxAge + publicationLag, logger: logger)
            try await keys.start()
            let urls = ServerURLs(base: configuration.issuerURL ?? ServerURLs.listenerBase(host: configuration.host, port: configuration.port))
            let rotation = KeyEncryptionKeyRotation(
                keys: kek, store: store, folder: folder, fromEnvironment: configuration.environmentKeys != nil, logger: logger, tenantId: tenant.id)
            return SigilServer(
                configuration: configuration, store: store, keys: keys, urls: urls, tenant: tenant, kek: kek, kekRotation: rotation,
                folder: folder, tls: tls, tenantCreated: created, logger: logger, metrics: metrics)
        } catch {
            await store.close()
            throw error
        }
    }

    init(
        configuration: ServerConfiguration, store: Store, keys: SigningKeyRing, urls: ServerURLs, tenant: Tenant, kek: KeyEncryptionKeys,
        kekRotation: KeyEncryptionKeyRotation, folder: DataFolder,
        tls: (certificate: String, key: String, ca: String?), tenantCreated: Bool, logger: Logger, metrics: ServerMetrics
    ) {
        self.configuration = configuration
        self.store = store
        self.keys = keys
        self.urls = urls
        self.tenant = tenant
        self.kek = kek
        self.kekRotation = kekRotation
        self.folder = folder
        self.tls = tls
        self.tenantCreated = tenantCreated
        self.logger = logger
        self.metrics = metrics
        recorder = SignInRecorder(store: store, metrics: metrics.factory)
        unknownClients = UnknownClientFailures(recorder: recorder, logger: logger)
        rotator = SecretRotator(store: store, kek: kek, minimumPeriod: configuration.rotationMinimumPeriod, logger: logger)
    }

    /// TLS 1.2 offers forward-secret AEAD suites only (no CBC, no SHA-1 MACs, no static RSA); TLS 1.3's
    /// suites are all AEAD and fixed by BoringSSL.
    static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Refuses an address another process already listens on (or that this host cannot bind).
    static func checkListenAddress(host: String, port: Int) async throws {
        guard port != 0 else { return }
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try await channel.close()
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)).lowercased() } ?? "\(error)"
            throw ServerError.configuration("\(host):\(port) cannot be listened on (\(reason)); another process may have it: choose another with --listen HOST:PORT")
        }
    }

    func router() -> Router<SigilRequestContext> {
        let router = Router(context: SigilRequestContext.self)
        let routes = RouteTable()
        let vaultAddressing = VaultAddressing(domain: configuration.vaultDomain, urls: urls)
        let logsRequests = logger.logLevel <= .debug
        if metrics.registry != nil || logsRequests {
            router.add(middleware: RequestObserver(metrics: metrics.registry == nil ? nil : metrics, logs: logsRequests, vaults: vaultAddressing))
        }
        if let registry = metrics.registry {
            MetricsEndpoint(
                metrics: metrics, registry: registry, keys: keys, store: store, recorder: recorder, token: configuration.metricsToken,
                refreshInterval: configuration.metricsRefreshInterval, logger: logger
            ).register(on: router)
        }
        router.add(middleware: ErrorShapeMiddleware(routes: routes, vaults: vaultAddressing))
        router.add(middleware: ClientAddressMiddleware(proxies: configuration.trustedProxies))
        let directory = DirectoryCache(store: store)
        let issuerKeys = IssuerKeyCache(fetcher: BoundedFetcher(limits: configuration.outboundLimits))
        let federation = FederatedAuthenticator(directory: directory, keyCache: issuerKeys, signingKeys: keys, urls: urls, logger: logger)
        let risk = SignInRiskDetector(store: store, rules: SignInRiskRules(learningPeriod: configuration.riskLearningPeriod), logger: logger)
        let token = TokenEndpoint(
            directory: directory, recorder: recorder, unknownClients: unknownClients, federation: federation, risk: risk, keys: keys, urls: urls,
            vaultDomain: configuration.vaultDomain, metrics: metrics, logger: logger)
        router.post("/{tenant}/oauth2/v2.0/token") { request, context in await token.handle(request, context: context) }
        let introspection = IntrospectionEndpoint(
            directory: directory, recorder: recorder, federation: federation, verifier: AccessTokenVerifier(store: store, keys: keys, urls: urls),
            urls: urls, logger: logger)
        router.post("/{tenant}/oauth2/v2.0/introspect") { request, context in await introspection.handle(request, context: context) }
        router.get("/{tenant}/oauth2/v2.0/token") { request, _ in
            var response = TokenEndpoint.errorResponse(
                OAuthError(error: "invalid_request", code: 900561, message: "The endpoint only accepts POST requests; this was a GET.", status: 405),
                correlationId: TokenEndpoint.correlationId(request), now: Date())
            response.headers[.allow] = "POST"
            return response
        }
        router.get("/{tenant}/oauth2/v2.0/authorize") { request, _ in
            TokenEndpoint.errorResponse(
                OAuthError(error: "unsupported_response_type", code: 700054, message: "Sigil issues app-only tokens; there is no interactive sign-in."),
                correlationId: TokenEndpoint.correlationId(request), now: Date())
        }
        DiscoveryRoutes(directory: directory, keys: keys, urls: urls, cacheControl: "public, max-age=\(Int(configuration.jwksMaxAge))").register(on: router)
        let admin = AdminAPI(
            store: store, keys: keys, kek: kek, kekRotation: kekRotation, urls: urls, logger: logger, vaultDomain: configuration.vaultDomain, rotator: rotator)
        admin.register(on: router)
        Dashboard(api: admin).register(on: router)
        AgentAPI(store: store, directory: directory, urls: urls).register(on: router)
        KeyVaultAPI(
            store: store, keys: keys, kek: kek, addressing: vaultAddressing, urls: urls, logger: logger
        ).register(on: router)
        router.get("/healthz") { _, _ in Response.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in await self.readiness() }
        routes.load(router.routes)
        return router
    }

    /// `/readyz`: ready when the store answers a read and a signing key of every algorithm is
    /// loaded; otherwise `503` with which of the two is missing (never the error, which may name
    /// the database's host).
    func readiness() async -> Response {
        do {
            _ = try await store.tenant(id: tenant.id)
        } catch {
            logger.warning("readiness: the store does not answer: \(error)")
            return .json(["status": "store unavailable"], status: .serviceUnavailable)
        }
        guard SigningKeyRing.algorithms.allSatisfy({ (try? keys.signer(for: $0)) != nil }) else {
            return .json(["status": "signing keys not loaded"], status: .serviceUnavailable)
        }
        return .json(["status": "ready"])
    }

    /// Serves until SIGTERM / SIGINT or cancellation, then closes the store.
    public func run(onReady: @escaping @Sendable (ServerReadiness) -> Void = { _ in }) async throws {
        var tlsConfiguration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
        tlsConfiguration.minimumTLSVersion = .tlsv12
        tlsConfiguration.cipherSuiteValues = Self.tls12CipherSuites
        let urls = self.urls
        let explicitIssuer = configuration.issuerURL != nil
        let host = configuration.host
        let readiness: @Sendable (Int) -> ServerReadiness = { [self] port in
            ServerReadiness(
                tenantId: tenant.id, baseURL: urls.baseURL, listenURL: ServerURLs.listenerBase(host: host, port: port), authority: urls.authority(tenantId: tenant.id), port: port, caFile: tls.ca,
                adminKeyFile: folder.exists(AdminKeyFile.fileName) ? folder.path(AdminKeyFile.fileName) : nil, tenantCreated: tenantCreated)
        }
        let app = Application(
            router: router(),
            server: try GuardedHTTPChannel.builder(tls: tlsConfiguration, limits: configuration.connectionLimits),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "sigil"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                if !explicitIssuer { urls.setBase(ServerURLs.listenerBase(host: host, port: port)) }
                onReady(readiness(port))
            },
            logger: logger)
        let maintenance = KeyMaintenanceService(ring: keys, store: store, refreshInterval: configuration.keyRefreshInterval, logger: logger)
        let signIns = SignInMaintenance(store: store, retention: configuration.signInRetention, unknownClients: unknownClients, logger: logger)
        let vault = RetentionMaintenance(store: store, interval: configuration.vaultPurgeInterval, logger: logger)
        let posture = DailyPostureScore(store: store, logger: logger)
        let rotation = SecretRotationService(rotator: rotator, interval: SecretRotationService.interval(minimumPeriod: configuration.rotationMinimumPeriod))
        let addressing = VaultAddressing(domain: configuration.vaultDomain, urls: urls)
        let webhooks = WebhookDeliveryService(
            store: store, kek: kek, fetcher: BoundedFetcher(limits: configuration.outboundLimits), settings: configuration.vaultEvents,
            alerts: configuration.alerts, vaultURL: addressing.vaultURL, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: app), .init(service: maintenance), .init(service: signIns), .init(service: rotation), .init(service: vault),
                .init(service: webhooks), .init(service: kekRotation), .init(service: posture),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Requests in flight get this long to finish after SIGTERM; then they are cancelled, so
        // one stuck on an unreachable database cannot keep the process alive.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(8)
        groupConfiguration.maximumCancellationDuration = .seconds(2)
        let group = ServiceGroup(configuration: groupConfiguration)
        serviceGroup.withLock { $0 = group }
        do {
            try await group.run()
        } catch {
            await store.close()
            logger.error("sigil serve stopped on an error: \(error)")
            throw error
        }
        await store.close()
        logger.notice("sigil serve stopped: requests in flight finished, the store is closed")
    }
}

extension SigilServer {
    /// Stops serving as SIGTERM would: in-flight requests finish, then `run` returns.
    public func shutdown() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case configuration(String)
    public var description: String {
        switch self {
        case .configuration(let message): message
        }
    }
}
