import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import SigilAgent
import SigilCore
@testable import SigilServer

/// A state folder for an agent, in a fresh temporary folder.
struct AgentFixture {
    let folder: URL
    var state: AgentState { AgentState(folder: folder.path) }

    static let systemIdentity = AssignedIdentity(
        appId: "11111111-1111-4111-8111-111111111111", objectId: "21111111-1111-4111-8111-111111111111", displayName: "host-1",
        resourceId: "/tenants/t/hosts/host-1")
    static let ordersIdentity = AssignedIdentity(
        appId: "33333333-3333-4333-8333-333333333333", objectId: "43333333-3333-4333-8333-333333333333", displayName: "orders",
        resourceId: "/tenants/t/userAssignedIdentities/orders")

    /// An enrolled host whose server does not answer (nothing listens on port 1), holding
    /// `configuration` (by default: the system identity and `ordersIdentity`, no rules).
    static func offline(rules: [HostRule] = []) throws -> AgentFixture {
        let folder = temporaryFolder("agent")
        let fixture = AgentFixture(folder: folder)
        try fixture.state.create()
        let tls = try SelfSignedTLS.ensure(in: DataFolder(path: folder.appendingPathComponent("tls-source").path), logger: .init(label: "test-agent"))
        let key = SigningKey.p256(.init())
        try fixture.state.writeKey(key)
        let registration = AgentRegistration(
            server: "https://127.0.0.1:1", caFile: tls.ca, tenantId: "tenant-1", hostId: "host-id-1", hostName: "host-1",
            tokenEndpoint: "https://127.0.0.1:1/tenant-1/oauth2/v2.0/token", systemIdentity: systemIdentity, kid: "kid-1",
            keyThumbprint: key.publicKey.thumbprint, keyCreatedAt: Date())
        try fixture.state.writeRegistration(registration)
        var configuration = registration.minimalConfiguration
        configuration.userAssignedIdentities = [ordersIdentity]
        configuration.rules = rules
        try fixture.state.writeConfiguration(configuration)
        return fixture
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }
}

/// A short, fresh folder under /tmp (Unix socket paths must stay under 108 bytes).
func temporaryFolder(_ prefix: String) -> URL {
    URL(fileURLWithPath: "/tmp/sigil-\(prefix)-\(UUID().uuidString.prefix(8))", isDirectory: true)
}

/// `sigil agent run` in-process on free loopback ports and a socket in the state folder.
final class RunningAgent: Sendable {
    let runtime: AgentRuntime
    let service: AgentService
    let endpoints: AgentEndpoints
    let task: Task<Void, any Error>
    let http: HTTPClient

    static func start(_ state: AgentState) async throws -> RunningAgent {
        var logger = Logger(label: "sigil-agent-test")
        logger.logLevel = .warning
        var listeners = AgentListeners()
        listeners.imdsPort = 0
        listeners.appServicePort = 0
        listeners.socketPath = state.path("run/agent.sock")
        let runtime = try AgentRuntime(state: state, logger: logger)
        let service = try AgentService(runtime: runtime, listeners: listeners, logger: logger)
        let (ready, continuation) = AsyncStream.makeStream(of: AgentEndpoints.self)
        let task = Task { try await service.run { continuation.yield($0) } }
        var iterator = ready.makeAsyncIterator()
        guard let endpoints = await iterator.next() else { throw TestFailure("the agent did not start") }
        return RunningAgent(runtime: runtime, service: service, endpoints: endpoints, task: task)
    }

    private init(runtime: AgentRuntime, service: AgentService, endpoints: AgentEndpoints, task: Task<Void, any Error>) {
        self.runtime = runtime
        self.service = service
        self.endpoints = endpoints
        self.task = task
        http = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    func stop() async {
        try? await http.shutdown()
        await service.shutdown()
        _ = await task.result
        await runtime.shutdown()
    }

    /// Runs `body` against an agent on `fixture` and always stops it and removes the folder.
    static func with<T>(_ fixture: AgentFixture, _ body: (RunningAgent) async throws -> T) async throws -> T {
        let agent = try await start(fixture.state)
        defer { fixture.remove() }
        do {
            let result = try await body(agent)
            await agent.stop()
            return result
        } catch {
            await agent.stop()
            throw error
        }
    }

    struct Reply {
        let status: Int
        let json: JSONValue
        subscript(_ name: String) -> String? { json.objectValue?[name]?.stringValue }
    }

    /// GET `url` (http:// or http+unix://) with `headers`.
    func get(_ url: String, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), json: (try? JSONParser.parse(Array(buffer: body))) ?? .null)
    }

    /// The IMDS token URL for `query`.
    func imds(_ query: String) -> String { endpoints.imds + ImdsRoute.tokenPath + "?api-version=2018-02-01&" + query }
    /// The App Service token URL for `query`.
    func appService(_ query: String) -> String { endpoints.appService + "?api-version=2019-08-01&" + query }
    /// The socket's token URL for `query`.
    func socket(_ query: String) -> String {
        "http+unix://" + FormParameters.percentEncode(endpoints.socket) + SocketRoute.tokenPath + "?" + query
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
