import CoreMetrics
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import SigilCore
import SigilStore
import Synchronization

/// `GET /metrics`: the server's registry in Prometheus's text format, with the values that are
/// read rather than counted brought up to date first: the sign-in recorder's queue and the
/// signing keys' ages (from memory, every scrape) and the credential expiries (one aggregate
/// query, at most once per `refreshInterval`). A store that fails leaves the last expiries in
/// place and the rest still answers: monitoring must work while the store does not.
///
/// Served to loopback clients (after `--trusted-proxy` resolution) without a token, and to
/// others only with `Authorization: Bearer` and the token of `--metrics-token-file`.
final class MetricsEndpoint: Sendable {
    let registry: PrometheusCollectorRegistry
    let keys: SigningKeyRing
    let store: Store
    let recorder: SignInRecorder
    /// SHA-256 of the metrics token; nil: loopback clients only.
    let tokenDigest: Data?
    let refreshInterval: TimeInterval
    let logger: Logger
    private let queue: CoreMetrics.Gauge
    private let keyAges: GaugeSet
    private let expiring: GaugeSet
    private let nextExpiry: GaugeSet
    private let expiries = Mutex<(at: Date, values: [CredentialExpiries])?>(nil)

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    static let forwardedHeader = HTTPField.Name("Forwarded")!
    static let loopback = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]

    init(
        metrics: ServerMetrics, registry: PrometheusCollectorRegistry, keys: SigningKeyRing, store: Store, recorder: SignInRecorder, token: String?,
        refreshInterval: TimeInterval, logger: Logger
    ) {
        self.registry = registry
        self.keys = keys
        self.store = store
        self.recorder = recorder
        tokenDigest = token.map { Data(SHA256.hash(data: Data($0.utf8))) }
        self.refreshInterval = refreshInterval
        self.logger = logger
        queue = CoreMetrics.Gauge(label: "sigil_signin_recorder_queue", factory: metrics.factory)
        keyAges = GaugeSet(label: "sigil_signing_key_age_seconds", factory: metrics.factory)
        expiring = GaugeSet(label: "sigil_credentials_expiring", factory: metrics.factory)
        nextExpiry = GaugeSet(label: "sigil_credential_next_expiry_timestamp_seconds", factory: metrics.factory)
    }

    func register(on router: Router<SigilRequestContext>) {
        router.get("/metrics") { request, context in await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: SigilRequestContext) async -> Response {
        guard allowed(request, context: context) else {
            let message = tokenDigest == nil
                ? "/metrics answers loopback clients only; serve it elsewhere with --metrics-token-file and send that token as a bearer token."
                : "/metrics needs the bearer token of --metrics-token-file from a client that is not on loopback."
            return .json(
                ["error": "invalid_token", "error_description": .string(message)], status: .unauthorized,
                headers: [.wwwAuthenticate: "Bearer realm=\"sigil-metrics\""])
        }
        let now = Date()
        queue.record(recorder.pending)
        keyAges.set(keys.published().map { ([("kid", $0.kid), ("state", $0.state.rawValue)], now.timeIntervalSince($0.createdAt)) })
        if let values = await credentialExpiries(now: now) {
            expiring.set(values.flatMap { summary in
                zip(CredentialExpiries.windows, summary.expiring).map { window, count in
                    ([("type", summary.kind.rawValue), ("within", window.label)], Double(count))
                }
            })
            nextExpiry.set(values.compactMap { summary in summary.nextExpiry.map { ([("type", summary.kind.rawValue)], $0.timeIntervalSince1970) } })
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: Self.contentType, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    /// A loopback client that came straight to the listener, or anyone with the metrics token. A
    /// request a proxy forwarded (it names the client in `X-Forwarded-For` or `Forwarded`) needs
    /// the token even when the proxy is on loopback: nginx on the same host, without
    /// `--trusted-proxy`, would otherwise make every client a loopback client.
    private func allowed(_ request: Request, context: SigilRequestContext) -> Bool {
        let forwarded = request.headers[.xForwardedFor] != nil || request.headers[Self.forwardedHeader] != nil
        if !forwarded, Self.loopback.contains(where: { $0.contains(context.clientAddress) }) { return true }
        guard let tokenDigest, let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer ") else {
            return false
        }
        return ConstantTime.equal(Data(SHA256.hash(data: Data(authorization.dropFirst("bearer ".count).utf8))), tokenDigest)
    }

    /// The cached expiries, refreshed from the store once they are `refreshInterval` old; nil
    /// when the store cannot say and nothing was read before.
    private func credentialExpiries(now: Date) async -> [CredentialExpiries]? {
        let cached = expiries.withLock { $0 }
        if let cached, !now.hasElapsed(refreshInterval, since: cached.at) { return cached.values }
        do {
            let values = try await store.credentialExpiries(now: now)
            expiries.withLock { $0 = (now, values) }
            return values
        } catch {
            logger.warning("metrics: cannot read credential expiries: \(error)")
            return cached?.values
        }
    }
}

/// The gauges of one metric whose label sets come and go (a retired key is forgotten, no
/// credential may be left to expire): each `set` gives every series there is, and a series not
/// given leaves the exposition.
final class GaugeSet: Sendable {
    let label: String
    let factory: any MetricsFactory
    private let gauges = Mutex<[[String]: CoreMetrics.Gauge]>([:])

    init(label: String, factory: any MetricsFactory) {
        self.label = label
        self.factory = factory
    }

    func set(_ series: [(labels: [(String, String)], value: Double)]) {
        gauges.withLock { gauges in
            var kept: [[String]: CoreMetrics.Gauge] = [:]
            for (labels, value) in series {
                let key = labels.flatMap { [$0.0, $0.1] }
                let gauge = gauges.removeValue(forKey: key) ?? CoreMetrics.Gauge(label: label, dimensions: labels, factory: factory)
                gauge.record(value)
                kept[key] = gauge
            }
            for gone in gauges.values { gone.destroy() }
            gauges = kept
        }
    }
}
