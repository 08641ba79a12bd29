import Foundation
import Hummingbird
import Logging
import Synchronization

/// A webhook receiver for the vault event tests: plain HTTP on a loopback port, recording every
/// POST (headers and exact body) and answering with the statuses it is told, in order, then 200
/// (a 3xx with a Location back to itself).
/// Told to hang, it holds requests until it is stopped.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        let headers: [String: String]
        let body: [UInt8]
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    private struct State {
        var received: [Received] = []
        var statuses: [Int] = []
        var hang = false
    }

    let url: String
    private let state = Mutex(State())
    private let task: Task<Void, any Error>

    var received: [Received] { state.withLock { $0.received } }

    /// The next answers, in order; 200 once they are used up.
    func answer(_ statuses: [Int]) { state.withLock { $0.statuses = statuses } }

    /// Whether requests are held without an answer (as a receiver that crashed mid-request).
    func hang(_ value: Bool) { state.withLock { $0.hang = value } }

    static func start() async throws -> WebhookReceiver {
        let (ready, continuation) = AsyncStream.makeStream(of: Int.self)
        let box = Mutex<WebhookReceiver?>(nil)
        let router = Router()
        router.post("/hook") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let receiver = box.withLock { $0! }
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let (status, hang) = receiver.state.withLock { state in
                state.received.append(Received(headers: headers, body: Array(buffer: body)))
                return (state.statuses.isEmpty ? 200 : state.statuses.removeFirst(), state.hang)
            }
            if hang { try await Task.sleep(for: .seconds(3600)) }
            // A redirect points back here: a sender that followed it would be seen posting twice.
            guard (300..<400).contains(status) else { return Response(status: .init(code: status)) }
            return Response(status: .init(code: status), headers: [.location: receiver.url])
        }
        var logger = Logger(label: "test-webhook")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService() }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("webhook receiver did not start") }
        let receiver = WebhookReceiver(url: "http://127.0.0.1:\(port)/hook", task: task)
        box.withLock { $0 = receiver }
        return receiver
    }

    private init(url: String, task: Task<Void, any Error>) {
        self.url = url
        self.task = task
    }

    func stop() { task.cancel() }
}

/// Polls `condition` every 20 ms for up to `seconds`; whether it came true.
func eventually(within seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
