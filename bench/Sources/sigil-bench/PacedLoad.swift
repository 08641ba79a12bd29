import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// An open-loop load generator: requests are due at a fixed rate whatever the server does, and
/// each latency is measured from when the request was due, not from when it was sent, so a
/// stalled server shows up in the percentiles (no coordinated omission). wrk (closed loop) is
/// used for peak rates; this is for "p99 at a given rate".
struct PacedLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paced", abstract: "POST one body per line of FILE at a fixed rate; print 'RATE P50_MS P99_MS ERRORS'.")

    @Option var url: String
    @Option var ca: String
    @Option var bodies: String
    @Option(help: "Requests per second.") var rate: Int
    @Option var seconds: Int = 15
    @Option var connections: Int = 32
    @Option(help: "Seconds sent at the same rate before measuring (connections open, caches fill).") var warmup: Int = 2

    func run() async throws {
        let lines = try String(contentsOfFile: bodies, encoding: .utf8).split(separator: "\n").map(String.init)
        let total = rate * (warmup + seconds)
        guard lines.count >= total else { throw ValidationError("\(bodies) has \(lines.count) bodies; \(total) are needed") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

        let results = Results()
        let begin = ContinuousClock.now
        let start = begin + .seconds(warmup)
        let interval = Duration.seconds(1) / rate
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                let due = begin + interval * index
                let measured = due >= start
                try? await Task.sleep(until: due, clock: .continuous)
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                    request.body = .bytes(ByteBuffer(string: lines[index]))
                    do {
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        if measured { results.record(due: due, since: start, failed: response.status != .ok) }
                    } catch {
                        if measured { results.record(due: due, since: start, failed: true) }
                    }
                }
            }
        }
        let wall = ContinuousClock.now - start
        try await client.shutdown()
        let (sorted, errors, slow) = results.state.withLock { ($0.latencies.sorted(), $0.errors, $0.slowBySecond) }
        if !slow.isEmpty {
            let seconds = slow.keys.sorted().map { "\($0)s: \(slow[$0]!)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("requests over 50 ms, by second of the run: \(seconds)\n".utf8))
        }
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        print(String(format: "%.0f %.2f %.2f %d", Double(rate * seconds) / wallSeconds, percentile(0.5), percentile(0.99), errors))
    }
}

/// Latencies (milliseconds from when each request was due) and failures, from many tasks.
final class Results: Sendable {
    struct State {
        var latencies: [Double] = []
        var errors = 0
        /// How many requests took over 50 ms, by the second of the run they were due in.
        var slowBySecond: [Int64: Int] = [:]
    }
    let state = Mutex(State())

    func record(due: ContinuousClock.Instant, since start: ContinuousClock.Instant, failed: Bool) {
        let elapsed = ContinuousClock.now - due
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let second = (due - start).components.seconds
        state.withLock {
            $0.latencies.append(milliseconds)
            if failed { $0.errors += 1 }
            if milliseconds > 50 { $0.slowBySecond[second, default: 0] += 1 }
        }
    }
}
