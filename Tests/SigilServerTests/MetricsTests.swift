import Foundation
import Logging
import PostgresKit
import SigilCore
import SigilServer
import Testing

/// `/metrics`, `/healthz` and `/readyz` on a real server: counts that grow by exactly what was
/// done, histograms that are histograms, who may scrape, and readiness that follows the store.
@Suite struct MetricsTests {
    // MARK: Who may read /metrics

    @Test func aClientOffLoopbackNeedsTheMetricsTokenAndAWrongOneIsRefused() async throws {
        let token = "scrape-" + UUID().uuidString
        try await TestServer.with({
            $0.trustedProxies = TrustedProxies([IPNetwork("127.0.0.1")!])
            $0.metricsToken = token
        }) { server in
            let outside = [("X-Forwarded-For", "203.0.113.9")]
            for headers in [outside, outside + [("Authorization", "Bearer wrong-\(token)")], outside + [("Authorization", token)]] {
                let refused = try await server.send("GET", "/metrics", headers: headers)
                #expect(refused.status == 401)
                #expect(refused.header("WWW-Authenticate") == "Bearer realm=\"sigil-metrics\"")
                #expect(refused.json["error_description"]?.stringValue?.contains("--metrics-token-file") == true)
                #expect(!String(decoding: refused.body, as: UTF8.self).contains("sigil_"))
            }
            let allowed = try await server.send("GET", "/metrics", headers: outside + [("Authorization", "Bearer \(token)")])
            #expect(allowed.status == 200)
            #expect(allowed.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(try Exposition(allowed.body).value("sigil_signin_recorder_queue") != nil)
        }
    }

    @Test func withoutATokenOnlyLoopbackClientsThatCameStraightAreServed() async throws {
        try await TestServer.with({ $0.trustedProxies = TrustedProxies([IPNetwork("127.0.0.1")!]) }) { server in
            let refused = try await server.send("GET", "/metrics", headers: [("X-Forwarded-For", "198.51.100.7"), ("Authorization", "Bearer anything-at-all-here")])
            #expect(refused.status == 401)
            #expect(refused.json["error_description"]?.stringValue?.contains("loopback clients only") == true)
            // A proxy on loopback forwarding for a loopback client is still a proxy.
            #expect(try await server.send("GET", "/metrics", headers: [("X-Forwarded-For", "127.0.0.1")]).status == 401)
            #expect(try await server.send("GET", "/metrics", headers: [("Forwarded", "for=127.0.0.1")]).status == 401)
            #expect(try await server.send("GET", "/metrics").status == 200)
        }
        // Without --trusted-proxy a proxy on the same host is the peer: its forwarded requests still need the token.
        try await TestServer.with { server in
            let forwarded = try await server.send("GET", "/metrics", headers: [("X-Forwarded-For", "198.51.100.7")])
            #expect(forwarded.status == 401)
        }
    }

    @Test func metricsOffServesNoMetricsAndStillIssuesTokens() async throws {
        try await TestServer.with({ $0.metrics = false }) { server in
            let world = try await World.make(server)
            #expect(try await server.send("GET", "/metrics").status == 404)
            #expect(try await server.token(world.secretForm).status == 200)
            #expect(try await server.send("GET", "/readyz").json["status"]?.stringValue == "ready")
        }
    }

    // MARK: What /metrics counts

    @Test func tokenRequestsAreCountedByResultCredentialTypeAndErrorExactly() async throws {
        try await TestServer.with({ $0.metricsRefreshInterval = 0 }) { server in
            let world = try await World.make(server)
            let before = try await scrape(server)
            let assertion = try world.jwkAssertion()
            let requests: [[(String, String)]] = [
                world.secretForm, world.secretForm,
                world.secretForm.map { $0.0 == "client_secret" ? ($0.0, "not-the-secret") : $0 },
                world.assertionForm(assertion), world.assertionForm(assertion),
                [("grant_type", "password"), ("client_id", world.clientId)],
                [("grant_type", "client_credentials"), ("client_id", UUID().uuidString), ("client_secret", "x"), ("scope", "api://orders/.default")],
            ]
            for form in requests { _ = try await server.token(form) }
            let after = try await scrape(server)

            func delta(_ result: String, _ type: String, _ error: String) -> Double {
                let labels = ["result": result, "credential_type": type, "error": error]
                return (after.value("sigil_token_requests_total", labels) ?? 0) - (before.value("sigil_token_requests_total", labels) ?? 0)
            }
            #expect(delta("success", "clientSecret", "") == 2)
            #expect(delta("failure", "clientSecret", "invalid_client") == 1)
            #expect(delta("success", "clientAssertion", "") == 1)
            #expect(delta("failure", "clientAssertion", "invalid_client") == 1)  // the replayed assertion
            #expect(delta("failure", "none", "unsupported_grant_type") == 1)
            #expect(delta("failure", "none", "unauthorized_client") == 1)  // an unknown client
            #expect(after.sum("sigil_token_requests_total") - before.sum("sigil_token_requests_total") == Double(requests.count))
            // Every label value comes from a fixed set: nothing of the request (an app id, a secret) shows.
            for series in after.series("sigil_token_requests_total") {
                #expect(MetricLabels.tokenErrors.contains(series.labels["error"] ?? "?"))
                #expect(MetricLabels.credentialTypes.contains(series.labels["credential_type"] ?? "?"))
            }
            let text = String(decoding: try await server.send("GET", "/metrics").body, as: UTF8.self)
            for leaked in [world.clientId, world.secret, server.tenantId] { #expect(!text.contains(leaked)) }

            // The token route's 2xx and 4xx histograms saw these requests (and the admin calls' tokens before).
            let tokenOK = ["route": "token", "status": "2xx"], tokenRefused = ["route": "token", "status": "4xx"]
            #expect(after.value("sigil_http_request_duration_seconds_count", tokenOK)! - before.value("sigil_http_request_duration_seconds_count", tokenOK)! == 3)
            #expect(
                after.value("sigil_http_request_duration_seconds_count", tokenRefused)! - before.value("sigil_http_request_duration_seconds_count", tokenRefused)! == 4)
            // The sign-ins went through the recorder and the store: every recorded one is in a batch.
            let batched = after.value("sigil_signin_recorder_batch_size_sum")! - before.value("sigil_signin_recorder_batch_size_sum")!
            #expect(batched >= 5 && batched <= 7)  // requests without a known client are sampled
            #expect(after.value("sigil_signin_recorder_queue") == 0)
            for operation in ["read", "write"] {
                #expect(after.value("sigil_store_query_duration_seconds_count", ["operation": operation])! > before.value("sigil_store_query_duration_seconds_count", ["operation": operation])!)
            }
        }
    }

    @Test func everyHistogramIsCumulativeAndEveryNameIsSigils() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            for _ in 0..<3 { _ = try await server.token(world.secretForm) }
            let exposition = try await scrape(server)
            #expect(exposition.names.allSatisfy { $0.hasPrefix("sigil_") }, "\(exposition.names.filter { !$0.hasPrefix("sigil_") })")
            var histograms = Set<String>()
            for name in exposition.names where name.hasSuffix("_bucket") { histograms.insert(String(name.dropLast("_bucket".count))) }
            #expect(histograms == [
                "sigil_http_request_duration_seconds", "sigil_store_query_duration_seconds", "sigil_signin_recorder_batch_size",
            ])
            for histogram in histograms {
                let byLabels = Dictionary(grouping: exposition.series(histogram + "_bucket")) { $0.labels.filter { $0.key != "le" } }
                #expect(!byLabels.isEmpty)
                for (labels, buckets) in byLabels {
                    let ordered = buckets.sorted { Double($0.labels["le"]!.replacingOccurrences(of: "+Inf", with: "inf"))! < Double($1.labels["le"]!.replacingOccurrences(of: "+Inf", with: "inf"))! }
                    #expect(ordered.last?.labels["le"] == "+Inf")
                    #expect(zip(ordered, ordered.dropFirst()).allSatisfy { $0.value <= $1.value }, "\(histogram) \(labels)")
                    #expect(exposition.value(histogram + "_count", labels) == ordered.last?.value)
                }
            }
        }
    }

    @Test func keyAgesAndCredentialExpiriesAreRead() async throws {
        try await TestServer.with({ $0.metricsRefreshInterval = 0 }) { server in
            _ = try await server.createApp("expiring")
            let first = try await scrape(server)
            #expect(first.value("sigil_credentials_expiring", ["type": "passwordCredential", "within": "30d"]) == 0)
            #expect(first.value("sigil_credential_next_expiry_timestamp_seconds", ["type": "passwordCredential"]) == nil)

            var added: [String] = []
            for lifetime in ["P5D", "P20D", "P90D"] { added.append(try await server.addSecret("expiring", lifetime: lifetime).keyId) }
            let soon = Date().addingTimeInterval(5 * 86_400).timeIntervalSince1970
            let exposition = try await scrape(server)
            #expect(exposition.value("sigil_credentials_expiring", ["type": "passwordCredential", "within": "7d"]) == 1)
            #expect(exposition.value("sigil_credentials_expiring", ["type": "passwordCredential", "within": "30d"]) == 2)
            let next = try #require(exposition.value("sigil_credential_next_expiry_timestamp_seconds", ["type": "passwordCredential"]))
            #expect(abs(next - soon) < 60)

            // The secrets go: the counts fall to zero and the next expiry leaves the exposition.
            for keyId in added { #expect(try await server.admin("DELETE", "applications/expiring/passwordCredentials/\(keyId)").status == 204) }
            let emptied = try await scrape(server)
            #expect(emptied.value("sigil_credentials_expiring", ["type": "passwordCredential", "within": "30d"]) == 0)
            #expect(emptied.value("sigil_credential_next_expiry_timestamp_seconds", ["type": "passwordCredential"]) == nil)

            let published = server.server.keys.published()
            let ages = exposition.series("sigil_signing_key_age_seconds")
            #expect(Set(ages.map { $0.labels["kid"]! }) == Set(published.map(\.kid)))
            for key in published {
                let age = try #require(exposition.value("sigil_signing_key_age_seconds", ["kid": key.kid, "state": key.state.rawValue]))
                #expect(age >= 0 && abs(age - Date().timeIntervalSince(key.createdAt)) < 60)
            }
        }
    }

    // MARK: Readiness

    @Test func readinessIsUnavailableWhileTheDatabaseRefusesConnectionsAndLivenessIsNot() async throws {
        guard let adminURL = ProcessInfo.processInfo.environment["SIGIL_TEST_POSTGRES_URL"], !adminURL.isEmpty else { return }
        try await TestServer.with { server in
            #expect(try await server.send("GET", "/readyz").json["status"]?.stringValue == "ready")
            let database = try #require(server.server.configuration.database.flatMap(URLComponents.init(string:))?.path.dropFirst())
            try await Self.postgres(adminURL, [
                "ALTER DATABASE \(database) ALLOW_CONNECTIONS false",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)'",
            ])
            let unready = try await server.send("GET", "/readyz")
            #expect(unready.status == 503)
            #expect(unready.json == ["status": "store unavailable"])
            #expect(try await server.send("GET", "/healthz").status == 200)
            #expect(try await server.send("GET", "/metrics").status == 200)  // monitoring still answers

            try await Self.postgres(adminURL, ["ALTER DATABASE \(database) ALLOW_CONNECTIONS true"])
            #expect(try await server.send("GET", "/readyz").json == ["status": "ready"])
        }
    }

    static func postgres(_ url: String, _ statements: [String]) async throws {
        let components = try #require(URLComponents(string: url))
        let logger = Logger(label: "test-postgres")
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
                password: components.password, database: String(components.path.dropFirst()), tls: .disable),
            id: 1, logger: logger)
        for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
        try await connection.close()
    }

    func scrape(_ server: TestServer) async throws -> Exposition {
        let reply = try await server.send("GET", "/metrics")
        guard reply.status == 200 else { throw TestFailure("/metrics: \(reply.status)") }
        return try Exposition(reply.body)
    }
}

/// Prometheus's text format, read line by line: `name{label="value",…} number`.
struct Exposition {
    struct Series {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let all: [Series]

    init(_ body: Data) throws {
        all = try String(decoding: body, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf"))
            else { throw TestFailure("not an exposition line: \(line)") }
            let head = line[..<space]
            guard let brace = head.firstIndex(of: "{") else { return Series(name: String(head), labels: [:], value: value) }
            var labels: [String: String] = [:]
            // Label values here never hold a quote or a comma (the sets are fixed).
            for pair in head[head.index(after: brace)..<head.index(before: head.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return Series(name: String(head[..<brace]), labels: labels, value: value)
        }
    }

    var names: Set<String> { Set(all.map(\.name)) }
    func series(_ name: String) -> [Series] { all.filter { $0.name == name } }
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? { all.first { $0.name == name && $0.labels == labels }?.value }
    func sum(_ name: String) -> Double { series(name).reduce(0) { $0 + $1.value } }
}
