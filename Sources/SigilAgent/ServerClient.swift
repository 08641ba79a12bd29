import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import SigilCore

/// How a call to the Sigil server failed.
public enum AgentServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer worth trusting: connection refused, timeout, TLS failure or a 5xx. Cached
    /// tokens stay in service.
    case unreachable(String)
    /// The server answered and refused (4xx), with its error code and description.
    case refused(status: Int, code: String, description: String)

    public var description: String {
        switch self {
        case .unreachable(let reason): "the Sigil server is unreachable: \(reason)"
        case .refused(let status, let code, let description): "the Sigil server refused (\(status) \(code)): \(description)"
        }
    }
}

/// A token from the server's token endpoint, as the agent keeps it.
public struct IssuedToken: Sendable, Equatable {
    public var accessToken: String
    /// When the agent received it (stands in for the token's `nbf`).
    public var issuedAt: Date
    public var expiresOn: Date

    public init(accessToken: String, issuedAt: Date, expiresOn: Date) {
        self.accessToken = accessToken
        self.issuedAt = issuedAt
        self.expiresOn = expiresOn
    }
}

/// What the server answered to an enrollment.
public struct Enrollment: Sendable {
    public var hostId: String
    public var hostName: String
    public var tenantId: String
    public var tokenEndpoint: String
    public var systemIdentity: AssignedIdentity
    public var kid: String
}

/// HTTPS to the Sigil server, trusting only the CA given at enrollment, with bounded timeouts
/// and answer sizes. Agent API calls carry `Authorization: SigilHost JWT` signed by the host key.
public final class ServerClient: Sendable {
    /// The server's base URL.
    public let server: String
    private let http: HTTPClient
    private static let maximumAnswer = 1 << 20

    public init(server: String, caFile: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        } catch {
            throw AgentStateError("cannot read the CA file \(caFile): \(error)")
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(15))
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
    }

    public func shutdown() async { try? await http.shutdown() }

    /// The `aud` of agent API assertions.
    public var agentAudience: String { server + "/agent/v1" }

    /// Registers this host with a join token and its public key.
    public func enroll(joinToken: String, key: SigningKey, kid: String, hostname: String) async throws(AgentServerError) -> Enrollment {
        let body: JSONValue = ["joinToken": .string(joinToken), "publicKey": HostKey.publicJWK(key, kid: kid), "hostname": .string(hostname)]
        let answer = try await send("POST", agentAudience + "/enroll", json: body)
        guard let object = answer.objectValue, let hostId = object["hostId"]?.stringValue, let hostName = object["hostName"]?.stringValue,
            let tenantId = object["tenantId"]?.stringValue, let tokenEndpoint = object["tokenEndpoint"]?.stringValue,
            let identity = try? AssignedIdentity(json: object["systemAssignedIdentity"])
        else { throw .unreachable("the enrollment answer lacks hostId, hostName, tenantId, tokenEndpoint or systemAssignedIdentity") }
        return Enrollment(
            hostId: hostId, hostName: hostName, tenantId: tenantId, tokenEndpoint: tokenEndpoint, systemIdentity: identity,
            kid: object["kid"]?.stringValue ?? kid)
    }

    /// The host's current configuration.
    public func configuration(hostKey: HostKey, systemAppId: String) async throws(AgentServerError) -> HostConfiguration {
        let answer = try await send("GET", agentAudience + "/config", authorization: try sigilHost(hostKey, systemAppId))
        do {
            return try HostConfiguration(json: answer)
        } catch {
            throw .unreachable("the server's configuration is unusable: \(error)")
        }
    }

    /// Registers `newKey` as the host's key, authenticated by the current one; returns its kid.
    public func registerKey(_ newKey: SigningKey, kid: String, hostKey: HostKey, systemAppId: String) async throws(AgentServerError) -> String {
        let authorization = try sigilHost(hostKey, systemAppId, extra: ["jkt": .string(newKey.publicKey.thumbprint)])
        let answer = try await send("POST", agentAudience + "/keys", json: ["publicKey": HostKey.publicJWK(newKey, kid: kid)], authorization: authorization)
        return answer.objectValue?["kid"]?.stringValue ?? kid
    }

    /// A token for `identity` to `resource` by the client-credentials grant, asserted with the
    /// host key; `caller` (a socket caller) travels as the `xms_caller` claim.
    public func token(
        identity: String, resource: String, caller: CallerProcess?, tokenEndpoint: String, hostKey: HostKey
    ) async throws(AgentServerError) -> IssuedToken {
        var extra: [String: JSONValue] = [:]
        if let caller {
            extra["xms_caller"] = [
                "uid": .integer(Int64(caller.uid)), "gid": .integer(Int64(caller.gid)), "pid": .integer(Int64(caller.pid)),
                "path": .string(caller.path), "sha256": .string(caller.sha256),
            ]
        }
        let assertion: String
        do {
            assertion = try hostKey.assertion(subject: identity, audience: tokenEndpoint, extra: extra)
        } catch {
            throw .unreachable("cannot sign with the host key: \(error)")
        }
        let scope = resource.hasSuffix("/.default") ? resource : resource + "/.default"
        let form = FormParameters.encode([
            ("grant_type", "client_credentials"), ("client_id", identity), ("scope", scope),
            ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
        ])
        let sent = Date()
        let answer = try await send("POST", tokenEndpoint, body: Array(form.utf8), contentType: "application/x-www-form-urlencoded")
        guard let token = answer.objectValue?["access_token"]?.stringValue, let lifetime = answer.objectValue?["expires_in"]?.integerValue, lifetime > 0
        else { throw .unreachable("the token endpoint's answer has no access_token or expires_in") }
        return IssuedToken(accessToken: token, issuedAt: sent, expiresOn: sent.addingTimeInterval(TimeInterval(lifetime)))
    }

    private func sigilHost(_ hostKey: HostKey, _ systemAppId: String, extra: [String: JSONValue] = [:]) throws(AgentServerError) -> String {
        do {
            return "SigilHost " + (try hostKey.assertion(subject: systemAppId, audience: agentAudience, extra: extra))
        } catch {
            throw .unreachable("cannot sign with the host key: \(error)")
        }
    }

    private func send(_ method: String, _ url: String, json: JSONValue, authorization: String? = nil) async throws(AgentServerError) -> JSONValue {
        try await send(method, url, body: Array(json.serialized().utf8), contentType: "application/json", authorization: authorization)
    }

    /// Sends a request; a 2xx answer's JSON, else the server's refusal (4xx) or `unreachable`.
    private func send(
        _ method: String, _ url: String, body: [UInt8]? = nil, contentType: String? = nil, authorization: String? = nil
    ) async throws(AgentServerError) -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        request.headers.add(name: "User-Agent", value: "sigil-agent")
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let status: Int
        let bytes: [UInt8]
        do {
            let response = try await http.execute(request, timeout: .seconds(20))
            var buffer = try await response.body.collect(upTo: Self.maximumAnswer)
            status = Int(response.status.code)
            bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            throw .unreachable(String(describing: error))
        }
        let json = (try? JSONParser.parse(bytes)) ?? .null
        switch status {
        case 200..<300: return json
        case 400..<500:
            let (code, description) = Self.refusal(in: json)
            throw .refused(status: status, code: code ?? "http_\(status)", description: description ?? "HTTP \(status) from \(url)")
        default:
            throw .unreachable("HTTP \(status) from \(url)")
        }
    }

    /// The code and text of an Entra token error (`error`, `error_description`) or of a Graph
    /// error (`{"error":{"code","message"}}`).
    static func refusal(in json: JSONValue) -> (code: String?, description: String?) {
        let object = json.objectValue
        if let graph = object?["error"]?.objectValue { return (graph["code"]?.stringValue, graph["message"]?.stringValue) }
        return (object?["error"]?.stringValue, object?["error_description"]?.stringValue)
    }
}
