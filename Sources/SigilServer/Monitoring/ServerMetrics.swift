import CoreMetrics
import Foundation
import Hummingbird
import Prometheus
import SigilCore

/// What one server measures, through swift-metrics' API into one factory: Prometheus's over this
/// server's own registry with `--metrics on`, swift-metrics' no-op with `off`. The global
/// `MetricsSystem` is never bootstrapped, so servers in one process (the tests) keep apart.
///
/// The hot paths find their series by index in tables made at start: a request builds no label
/// strings and takes no lock of Sigil's.
final class ServerMetrics: Sendable {
    /// Where the metrics are made.
    let factory: any MetricsFactory
    /// What `/metrics` exposes; nil with `--metrics off`.
    let registry: PrometheusCollectorRegistry?
    /// `sigil_token_requests_total`, by credential type, then error (`""`: a success).
    private let tokenRequests: [CoreMetrics.Counter]
    /// `sigil_http_request_duration_seconds`, by route group, then status class.
    private let requestDurations: [CoreMetrics.Timer]

    static let tokenRequestsMetric = "sigil_token_requests_total"
    static let requestDurationMetric = "sigil_http_request_duration_seconds"
    /// From half a millisecond (a token from a warm cache) to ten seconds (a stuck store).
    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    init(enabled: Bool) {
        let registry = enabled ? PrometheusCollectorRegistry() : nil
        var factory: any MetricsFactory = NOOPMetricsHandler.instance
        if let registry {
            var prometheus = PrometheusMetricsFactory(registry: registry)
            prometheus.defaultDurationHistogramBuckets = Self.durationBuckets
            prometheus.valueHistogramBuckets = [SignInRecorder.batchSizeMetric: SignInRecorder.batchSizeBuckets]
            factory = prometheus
        }
        self.registry = registry
        self.factory = factory
        tokenRequests = MetricLabels.credentialTypes.flatMap { type in
            MetricLabels.tokenErrors.map { error in
                CoreMetrics.Counter(
                    label: Self.tokenRequestsMetric,
                    dimensions: [("result", error.isEmpty ? "success" : "failure"), ("credential_type", type), ("error", error)], factory: factory)
            }
        }
        requestDurations = RouteGroup.allCases.flatMap { group in
            MetricLabels.statusClasses.map { status in
                CoreMetrics.Timer(label: Self.requestDurationMetric, dimensions: [("route", group.rawValue), ("status", status)], factory: factory)
            }
        }
    }

    /// Counts one answered token request: `error` is the OAuth error code it was refused with, nil when a token was issued.
    func countTokenRequest(credentialType: CredentialType?, error: String?) {
        let index = MetricLabels.credentialTypeIndex(credentialType) * MetricLabels.tokenErrors.count + MetricLabels.tokenErrorIndex(error)
        tokenRequests[index].increment()
    }

    /// Records that a request to `group`, answered with `status`, took `nanoseconds`.
    func requestFinished(_ group: RouteGroup, status: Int, nanoseconds: Int64) {
        requestDurations[group.index * MetricLabels.statusClasses.count + MetricLabels.statusClassIndex(status)].recordNanoseconds(nanoseconds)
    }
}
