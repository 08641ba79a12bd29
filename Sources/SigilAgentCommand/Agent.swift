import ArgumentParser
import Foundation
import Logging
import SigilAgent
import SigilCommandLine
import SigilCore

/// `sigil agent enroll|run|env`: the host agent that gives local workloads managed-identity
/// tokens without secrets.
public struct Agent: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Run the host agent: enroll this host, serve IMDS, App Service and Unix-socket token endpoints.",
        subcommands: [Enroll.self, Run.self, Env.self])

    /// Options every agent command takes.
    struct StateOptions: ParsableArguments {
        @Option(help: "The agent's state folder (host key, registration, configuration, endpoints).")
        var state = AgentState.defaultPath

        var folder: AgentState { AgentState(folder: URL(fileURLWithPath: state).standardizedFileURL.path) }
    }

    public init() {}

    public struct Enroll: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Enroll this host with a one-time join token (from `sigil host create`); generates the host key here.")

        @Option(help: "The server's base URL, e.g. https://sigil.example.com:8443.")
        var server: String

        @Option(help: "PEM CA certificate that signed the server's TLS certificate (copied into the state folder).")
        var ca: String

        @Option(name: .customLong("join-token"), help: "The join token (sgj_…), single use.")
        var joinToken: String

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        public init() {}

        public func run() async throws {
            try await reportingErrors {
                let registration = try await AgentEnrollment.enroll(
                    server: server, caFile: ca, joinToken: joinToken, state: state.folder, hostname: ProcessInfo.processInfo.hostName)
                if output.json {
                    Output.json([
                        "hostId": .string(registration.hostId), "hostName": .string(registration.hostName),
                        "tenantId": .string(registration.tenantId), "systemAssignedIdentity": registration.systemIdentity.json,
                        "kid": .string(registration.kid), "state": .string(state.folder.folder),
                    ])
                } else {
                    Output.fields([
                        ("host", registration.hostName), ("tenant", registration.tenantId),
                        ("system identity", registration.systemIdentity.appId), ("state", state.folder.folder),
                    ])
                }
            }
        }
    }

    public struct Run: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Serve tokens to local workloads until SIGTERM or SIGINT.")

        @OptionGroup var state: StateOptions

        @Option(help: "IMDS address, HOST:PORT (port 0 picks a free one).")
        var imds = "127.0.0.1:40342"

        @Option(name: .customLong("app-service"), help: "App Service address, HOST:PORT (port 0 picks a free one).")
        var appService = "127.0.0.1:40343"

        @Option(help: "The Unix socket's path (its folder is created if missing).")
        var socket = "/run/sigil-agent/agent.sock"

        @Flag(name: .customLong("allow-remote"), help: "Allow IMDS and App Service on non-loopback addresses: anything that can reach them can get this host's tokens.")
        var allowRemote = false

        @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
        var logLevel = "info"

        @OptionGroup var output: OutputOptions

        public func validate() throws {
            guard AgentListeners.parse(imds) != nil else { throw ValidationError("--imds must be HOST:PORT, e.g. 127.0.0.1:40342") }
            guard AgentListeners.parse(appService) != nil else { throw ValidationError("--app-service must be HOST:PORT, e.g. 127.0.0.1:40343") }
            guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a log level") }
        }

        public init() {}

        public func run() async throws {
            var logger = Logger(label: "sigil-agent")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            var listeners = AgentListeners()
            (listeners.imdsHost, listeners.imdsPort) = AgentListeners.parse(imds)!
            (listeners.appServiceHost, listeners.appServicePort) = AgentListeners.parse(appService)!
            listeners.socketPath = URL(fileURLWithPath: socket).standardizedFileURL.path
            listeners.allowRemote = allowRemote
            let json = output.json
            try await reportingErrors {
                try listeners.validate()
                let runtime = try AgentRuntime(state: state.folder, logger: logger)
                let service = try AgentService(runtime: runtime, listeners: listeners, logger: logger)
                let registration = runtime.registration
                let onReady: @Sendable (AgentEndpoints) -> Void = { endpoints in
                    if json {
                        Output.json([
                            "hostName": .string(registration.hostName), "tenantId": .string(registration.tenantId),
                            "imds": .string(endpoints.imds), "appService": .string(endpoints.appService), "socket": .string(endpoints.socket),
                        ])
                    } else {
                        print(AgentService.banner(registration: registration, endpoints: endpoints))
                    }
                    fflush(nil)
                }
                do {
                    try await service.run(onReady: onReady)
                } catch {
                    await runtime.shutdown()
                    throw error
                }
                await runtime.shutdown()
            }
        }
    }

    public struct Env: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Print the environment variables that point Azure SDK clients at the running agent.")

        enum Route: String, ExpressibleByArgument, CaseIterable {
            case imds
            case appService = "app-service"
        }

        @Option(help: "imds or app-service.")
        var route: Route

        @OptionGroup var state: StateOptions
        @OptionGroup var output: OutputOptions

        public init() {}

        public func run() async throws {
            try await reportingErrors {
                let endpoints = try state.folder.readEndpoints()
                let variables: [(String, String)] =
                    switch route {
                    case .imds: [("AZURE_POD_IDENTITY_AUTHORITY_HOST", endpoints.imds)]
                    case .appService: [("IDENTITY_ENDPOINT", endpoints.appService), ("IDENTITY_HEADER", endpoints.identityHeader)]
                    }
                if output.json {
                    Output.json(.object(Dictionary(uniqueKeysWithValues: variables.map { ($0.0, JSONValue.string($0.1)) })))
                } else {
                    for (name, value) in variables { print("export \(name)=\(value)") }
                }
            }
        }
    }
}
