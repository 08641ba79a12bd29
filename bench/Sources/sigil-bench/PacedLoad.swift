import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An open-loop load generator: requests are due at a fixed rate whatever the server does, and
/// each latency is measured from when the request was due, not from when it was sent, so a
/// stalled server shows up in the percentiles (no coordinated omission). wrk (closed loop) is
/// used for peak rates; this is for "p99 at a given rate".
///
/// It shares the machine with the server it measures, so it is kept cheap: one event loop, keep-alive
/// connections opened before the clock starts, a tick each millisecond that hands every request
/// now due to an idle connection (or queues it, its wait counted), and no HTTP client library.
/// Through AsyncHTTPClient with a task and a timer per request it cost about 415 µs of CPU per
/// request, 16 times what wrk costs, on the two cores the server had.
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
        let lines = try String(contentsOfFile: bodies, encoding: .utf8).split(separator: "\n").map { ByteBuffer(string: String($0)) }
        let total = rate * (warmup + seconds)
        guard lines.count >= total else { throw ValidationError("\(bodies) has \(lines.count) bodies; \(total) are needed") }
        guard let target = URL(string: url), let host = target.host, let port = target.port else {
            throw ValidationError("--url must be https://HOST:PORT/PATH")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        let context = try NIOSSLContext(configuration: tls)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let load = PacedRequests(
            bodies: lines, total: total, warmup: warmup, rate: rate, host: "\(host):\(port)", path: target.path, loop: loop)

        let bootstrap = ClientBootstrap(group: loop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                // The server's certificate names 127.0.0.1 and localhost; the chain is checked against --ca.
                let handler = try NIOSSLClientHandler(context: context, serverHostname: host == "127.0.0.1" ? nil : host)
                try channel.pipeline.syncOperations.addHandler(handler)
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(PacedConnection(load: load))
            }
        }
        var channels: [any Channel] = []
        for _ in 0..<connections { channels.append(try await bootstrap.connect(host: host, port: port).get()) }
        let finished = try await loop.flatSubmit { load.run() }.get()
        for channel in channels { try? await channel.close() }
        try await group.shutdownGracefully()

        let (sorted, errors, slow) = (finished.latencies.sorted(), finished.errors, finished.slowBySecond)
        if !slow.isEmpty {
            let seconds = slow.keys.sorted().map { "\($0)s: \(slow[$0]!)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("requests over 50 ms, by second of the run: \(seconds)\n".utf8))
        }
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print(String(format: "%.0f %.2f %.2f %d", Double(rate * seconds) / finished.wall.inSeconds, percentile(0.5), percentile(0.99), errors))
    }
}

/// The schedule and its results. Used on its event loop only.
final class PacedRequests: @unchecked Sendable {
    struct Finished: Sendable {
        var latencies: [Double] = []
        var errors = 0
        /// How many requests took over 50 ms, by the second of the run they were due in.
        var slowBySecond: [Int64: Int] = [:]
        /// From the end of the warm-up to the last answer.
        var wall: Duration = .zero
    }

    let bodies: [ByteBuffer]
    let total: Int
    let warmup: Int
    let interval: Duration
    let head: HTTPRequestHead
    let loop: any EventLoop
    private var begin = ContinuousClock.now
    private var next = 0
    private var answered = 0
    private var due: [(index: Int, at: ContinuousClock.Instant)] = []
    private var dueStart = 0
    private var idle: [PacedConnection] = []
    private var open = 0
    private var results = Finished()
    private var done: EventLoopPromise<Finished>?
    private var ticker: RepeatedTask?

    init(bodies: [ByteBuffer], total: Int, warmup: Int, rate: Int, host: String, path: String, loop: any EventLoop) {
        self.bodies = bodies
        self.total = total
        self.warmup = warmup
        self.loop = loop
        interval = Duration.seconds(1) / rate
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        self.head = head
    }

    private var measuredFrom: ContinuousClock.Instant { begin + .seconds(warmup) }

    /// Starts the clock; the future completes with the results once every request is answered.
    func run() -> EventLoopFuture<Finished> {
        let promise = loop.makePromise(of: Finished.self)
        done = promise
        begin = .now
        ticker = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { [self] _ in tick() }
        return promise.futureResult
    }

    func connected(_ connection: PacedConnection) {
        open += 1
        idle.append(connection)
    }

    /// A connection that closed takes no more requests. Once none is open, every request due
    /// fails at once, so the run ends with its errors counted instead of waiting forever.
    func closed(_ connection: PacedConnection) {
        open -= 1
        idle.removeAll { $0 === connection }
        dispatch()
    }

    /// Queues every request due by now and hands out what idle connections can take.
    private func tick() {
        let now = ContinuousClock.now
        while next < total, begin + interval * next <= now {
            due.append((next, begin + interval * next))
            next += 1
        }
        if next == total { ticker?.cancel() }
        dispatch()
    }

    private func dispatch() {
        while dueStart < due.count, done != nil {
            let request = due[dueStart]
            if let connection = idle.popLast() {
                dueStart += 1
                connection.send(due: request.at, head: head, body: bodies[request.index])
            } else if open == 0 {
                dueStart += 1
                settle(due: request.at, failed: true)
            } else {
                break
            }
        }
        if dueStart > 4096, dueStart == due.count {
            due.removeAll(keepingCapacity: true)
            dueStart = 0
        }
    }

    /// A request's answer (or its connection's failure), from the connection that carried it.
    func answered(_ connection: PacedConnection?, due: ContinuousClock.Instant, failed: Bool) {
        if let connection { idle.append(connection) }
        settle(due: due, failed: failed)
        dispatch()
    }

    /// Counts one request as done; the last one completes the run.
    private func settle(due: ContinuousClock.Instant, failed: Bool) {
        let now = ContinuousClock.now
        if due >= measuredFrom {
            let milliseconds = (now - due).inSeconds * 1000
            results.latencies.append(milliseconds)
            if failed { results.errors += 1 }
            if milliseconds > 50 { results.slowBySecond[(due - measuredFrom).components.seconds, default: 0] += 1 }
        }
        answered += 1
        if answered == total {
            results.wall = now - measuredFrom
            done?.succeed(results)
            done = nil
        }
    }
}

/// One keep-alive connection: one request at a time.
final class PacedConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let load: PacedRequests
    private var context: ChannelHandlerContext?
    private var current: ContinuousClock.Instant?
    private var status: HTTPResponseStatus = .ok

    init(load: PacedRequests) { self.load = load }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        load.connected(self)
        context.fireChannelActive()
    }

    func send(due: ContinuousClock.Instant, head: HTTPRequestHead, body: ByteBuffer) {
        guard let context else { return load.answered(nil, due: due, failed: true) }
        current = due
        var head = head
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = head.status
        case .body: break
        case .end:
            guard let request = current else { return }
            current = nil
            load.answered(self, due: request, failed: status != .ok)
        }
    }

    /// A closed connection fails its request and takes no more (see `PacedRequests.closed`).
    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        load.closed(self)
        if let request = current {
            current = nil
            load.answered(nil, due: request, failed: true)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

extension Duration {
    /// The duration as a number of seconds.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
