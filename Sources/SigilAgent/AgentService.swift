import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SigilCore
import Synchronization

/// Where the agent listens. Ports may be 0 (a free port is picked; tests use it).
public struct AgentListeners: Sendable {
    public var imdsHost = "127.0.0.1"
    public var imdsPort = 40342
    public var appServiceHost = "127.0.0.1"
    public var appServicePort = 40343
    public var socketPath = "/run/sigil-agent/agent.sock"
    /// Allows IMDS and App Service on addresses other than loopback. Off by default: anything
    /// that can reach those ports can get the host's tokens.
    public var allowRemote = false

    public init() {}

    /// Reads `HOST:PORT` (`[::1]:PORT` for IPv6).
    public static func parse(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// Whether `host` is a loopback address.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.split(separator: ".").first == "127"
    }

    /// Refuses a non-loopback IMDS or App Service address unless `allowRemote` is set.
    public func validate() throws {
        for (name, host) in [("imds", imdsHost), ("app-service", appServiceHost)] where !allowRemote && !Self.isLoopback(host) {
            throw AgentStateError("--\(name) \(host) is not a loopback address; anything that can reach it can get this host's tokens (add --allow-remote to accept that)")
        }
    }
}

/// The running agent: IMDS and App Service on loopback, the Unix socket, configuration refresh
/// (every 60 seconds) and key rotation, in one ServiceGroup that SIGTERM and SIGINT stop cleanly.
public final class AgentService: Sendable {
    public static let configurationRefreshInterval: Duration = .seconds(60)

    public let runtime: AgentRuntime
    public let listeners: AgentListeners
    /// The `IDENTITY_HEADER` App Service clients must present; new at every start.
    public let identityHeader = AppServiceRoute.generateIdentityHeader()
    private let logger: Logger
    private let serviceGroup = Mutex<ServiceGroup?>(nil)
    private let ready = Mutex<[String: String]>([:])

    public init(runtime: AgentRuntime, listeners: AgentListeners, logger: Logger) throws {
        try listeners.validate()
        self.runtime = runtime
        self.listeners = listeners
        self.logger = logger
    }

    /// Serves until SIGTERM / SIGINT or `shutdown()`. Once all three endpoints listen, writes
    /// `endpoints.json` and calls `onReady`. The socket file is removed on the way out.
    public func run(onReady: @escaping @Sendable (AgentEndpoints) -> Void = { _ in }) async throws {
        let socketPath = listeners.socketPath
        let folder = (socketPath as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw AgentStateError("cannot create the socket folder \(folder): \(error.localizedDescription)")
        }
        let started: @Sendable (String, String) -> Void = { [self] name, address in
            guard let endpoints = noteListening(name, address) else { return }
            do {
                try runtime.state.writeEndpoints(endpoints)
            } catch {
                logger.error("cannot write endpoints.json", metadata: ["error": "\(error)"])
            }
            onReady(endpoints)
        }
        let imds = Application(
            router: ImdsRoute.router(runtime: runtime),
            configuration: .init(address: .hostname(listeners.imdsHost, port: listeners.imdsPort), serverName: "sigil-agent"),
            onServerRunning: { started("imds", Self.url(host: self.listeners.imdsHost, port: $0.localAddress?.port ?? 0)) }, logger: logger)
        let appService = Application(
            router: AppServiceRoute.router(runtime: runtime, identityHeader: identityHeader),
            configuration: .init(address: .hostname(listeners.appServiceHost, port: listeners.appServicePort), serverName: "sigil-agent"),
            onServerRunning: {
                started("appService", Self.url(host: self.listeners.appServiceHost, port: $0.localAddress?.port ?? 0) + AppServiceRoute.tokenPath)
            }, logger: logger)
        let socket = Application(
            router: SocketRoute.router(runtime: runtime),
            server: .http1(configuration: .init(additionalChannelHandlers: [AcceptTime()])),
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "sigil-agent"),
            onServerRunning: { _ in
                // Any local user may ask; the rules decide who gets what.
                chmod(socketPath, 0o666)
                started("socket", socketPath)
            }, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: imds), .init(service: appService), .init(service: socket), .init(service: Maintenance(runtime: runtime, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        serviceGroup.withLock { $0 = group }
        defer { unlink(socketPath) }
        try await group.run()
    }

    /// Stops serving as SIGTERM would.
    public func shutdown() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
    }

    /// Records that one endpoint listens; the endpoints once all three do.
    private func noteListening(_ name: String, _ address: String) -> AgentEndpoints? {
        ready.withLock { ready in
            ready[name] = address
            guard let imds = ready["imds"], let appService = ready["appService"], let socket = ready["socket"] else { return nil }
            return AgentEndpoints(imds: imds, appService: appService, identityHeader: identityHeader, socket: socket)
        }
    }

    static func url(host: String, port: Int) -> String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// The banner `sigil agent run` prints once listening.
    public static func banner(registration: AgentRegistration, endpoints: AgentEndpoints) -> String {
        """
        sigil agent: host \(registration.hostName), tenant \(registration.tenantId)
          imds:        \(endpoints.imds)
          app-service: \(endpoints.appService)
          socket:      \(endpoints.socket)
        """
    }
}

/// Background work beside the listeners: configuration refresh every 60 seconds (the first at
/// start) and key rotation when the key is `keyRotationSeconds` old. Failures are logged and
/// retried; neither stops the agent.
struct Maintenance: Service {
    let runtime: AgentRuntime
    let logger: Logger
    static let rotationRetry: TimeInterval = 60

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await refreshLoop() }
            group.addTask { await rotationLoop() }
        }
    }

    private func refreshLoop() async {
        repeat {
            do {
                try await cancelWhenGracefulShutdown { try await runtime.refreshConfiguration() }
            } catch {
                logger.warning("cannot refresh the host configuration", metadata: ["error": "\(error)"])
            }
        } while await pause(AgentService.configurationRefreshInterval)
    }

    private func rotationLoop() async {
        var retryAfter = Date.distantPast
        func due() -> Date { max(runtime.nextKeyRotation, retryAfter) }
        // Wakes at least once a minute, so a new keyRotationSeconds takes effect soon.
        while await pause(.seconds(min(60, max(1, due().timeIntervalSinceNow)))) {
            guard Date() >= due() else { continue }
            do {
                try await runtime.rotateKey()
            } catch {
                logger.warning("cannot rotate the host key; retrying in a minute", metadata: ["error": "\(error)"])
                retryAfter = Date().addingTimeInterval(Self.rotationRetry)
            }
        }
    }

    /// Sleeps for `duration`; false once the service group shuts down.
    private func pause(_ duration: Duration) async -> Bool {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
            return true
        } catch {
            return false
        }
    }
}
