import Foundation
import SigilCore

/// What enrollment established, kept in `agent.json`: where the server is, which CA to trust,
/// who this host is and which key it signs with. No secret is in it; the key is in `host-key.pem`.
public struct AgentRegistration: Codable, Sendable, Equatable {
    /// The server's base URL, e.g. `https://sigil.example.com:8443`.
    public var server: String
    /// The copy of the server's CA certificate in the state folder.
    public var caFile: String
    public var tenantId: String
    public var hostId: String
    public var hostName: String
    public var tokenEndpoint: String
    public var systemIdentity: AssignedIdentity
    /// The kid the server registered for the host key.
    public var kid: String
    /// RFC 7638 thumbprint of the host key, to recognise the key `kid` names after a crash.
    public var keyThumbprint: String
    public var keyCreatedAt: Date

    public init(
        server: String, caFile: String, tenantId: String, hostId: String, hostName: String, tokenEndpoint: String,
        systemIdentity: AssignedIdentity, kid: String, keyThumbprint: String, keyCreatedAt: Date
    ) {
        self.server = server
        self.caFile = caFile
        self.tenantId = tenantId
        self.hostId = hostId
        self.hostName = hostName
        self.tokenEndpoint = tokenEndpoint
        self.systemIdentity = systemIdentity
        self.kid = kid
        self.keyThumbprint = keyThumbprint
        self.keyCreatedAt = keyCreatedAt
    }

    /// What the agent knows before it has fetched a configuration: the system identity only.
    public var minimalConfiguration: HostConfiguration {
        HostConfiguration(
            hostId: hostId, hostName: hostName, tenantId: tenantId, tokenEndpoint: tokenEndpoint, systemAssignedIdentity: systemIdentity,
            userAssignedIdentities: [], rules: [])
    }
}

/// Where the local endpoints listen, kept in `endpoints.json` (0600, since it holds the
/// App Service `IDENTITY_HEADER`) for `sigil agent env`.
public struct AgentEndpoints: Codable, Sendable, Equatable {
    public var imds: String
    public var appService: String
    public var identityHeader: String
    public var socket: String

    public init(imds: String, appService: String, identityHeader: String, socket: String) {
        self.imds = imds
        self.appService = appService
        self.identityHeader = identityHeader
        self.socket = socket
    }
}

/// Why the state folder cannot be used, in one line for the operator.
public struct AgentStateError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The agent's state folder (default `/var/lib/sigil-agent`, mode 0700): `host-key.pem` (the
/// P-256 private key, 0600, never sent anywhere), `agent.json`, `config.json` (the last
/// configuration fetched, so the agent starts while the server is down), `ca.pem` and
/// `endpoints.json`. Every file is written atomically.
public struct AgentState: Sendable {
    public static let defaultPath = "/var/lib/sigil-agent"

    public let folder: String

    public init(folder: String) { self.folder = folder }

    public func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
    public var keyPath: String { path("host-key.pem") }
    /// A rotated key waits here until the server has registered it and `agent.json` names it.
    var pendingKeyPath: String { path("host-key.pem.next") }
    public var registrationPath: String { path("agent.json") }
    public var configurationPath: String { path("config.json") }
    public var endpointsPath: String { path("endpoints.json") }
    public var caPath: String { path("ca.pem") }

    /// Creates the folder (0700) if it is missing.
    public func create() throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AgentStateError("cannot create the state folder \(folder): \(error.localizedDescription)")
        }
    }

    // MARK: Host key

    public func writeKey(_ key: SigningKey, to path: String? = nil) throws {
        try AtomicFile.write(path ?? keyPath, key.pemRepresentation, mode: 0o600)
    }

    /// Names the pending key in `agent.json`, then moves it into place. Enrollment and key
    /// rotation finish this way, so `agent.json` never names a key that is not on disk: after a
    /// crash between the two steps, `AgentRuntime` finds the pending key and finishes the move.
    func adoptPendingKey(_ registration: AgentRegistration) throws {
        try writeRegistration(registration)
        guard rename(pendingKeyPath, keyPath) == 0 else { throw AgentStateError("cannot move the new host key into place in \(folder)") }
    }

    public func readKey() throws -> SigningKey {
        guard let pem = try? String(contentsOfFile: keyPath, encoding: .utf8), let key = try? SigningKey(pem: pem) else {
            throw AgentStateError("no usable host key at \(keyPath); enroll first with `sigil agent enroll`")
        }
        return key
    }

    // MARK: JSON files

    public func writeRegistration(_ registration: AgentRegistration) throws { try write(registration, to: registrationPath, mode: 0o644) }

    public func readRegistration() throws -> AgentRegistration {
        try read(AgentRegistration.self, from: registrationPath, missing: "this host is not enrolled (no \(registrationPath)); run `sigil agent enroll` first")
    }

    public func writeEndpoints(_ endpoints: AgentEndpoints) throws { try write(endpoints, to: endpointsPath, mode: 0o600) }

    public func readEndpoints() throws -> AgentEndpoints {
        try read(AgentEndpoints.self, from: endpointsPath, missing: "the agent is not running (no \(endpointsPath)); start it with `sigil agent run`")
    }

    /// Keeps the configuration exactly as the server's document reads.
    public func writeConfiguration(_ configuration: HostConfiguration) throws {
        try AtomicFile.write(configurationPath, configuration.json.serialized(), mode: 0o644)
    }

    /// The saved configuration, or nil when none was ever fetched or the copy is unreadable.
    public func readConfiguration() -> HostConfiguration? {
        guard let data = FileManager.default.contents(atPath: configurationPath), let json = try? JSONParser.parse(Array(data)) else { return nil }
        return try? HostConfiguration(json: json)
    }

    private func write(_ value: some Encodable, to path: String, mode: mode_t) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try AtomicFile.write(path, String(decoding: try encoder.encode(value), as: UTF8.self) + "\n", mode: mode)
    }

    private func read<T: Decodable>(_ type: T.Type, from path: String, missing: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw AgentStateError(missing) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw AgentStateError("\(path) is damaged: \(error)")
        }
    }
}
