import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import SigilCore
import SigilServer

@testable import SigilAgent

/// A real Sigil server in-process (SQLite, TLS on a free loopback port) for the agent to enroll
/// with and get tokens from, and an admin client for setting up hosts and identities.
final class LiveServer: Sendable {
    let server: SigilServer
    let task: Task<Void, any Error>
    let baseURL: String
    let caFile: String
    let folder: URL
    let http: HTTPClient
    let adminToken: String

    static func start() async throws -> LiveServer {
        let folder = temporaryFolder("server")
        var configuration = ServerConfiguration()
        configuration.dataPath = folder.path
        configuration.port = 0
        var logger = Logger(label: "sigil-agent-test-server")
        logger.logLevel = .warning
        let server = try await SigilServer.prepare(configuration, logger: logger)
        let (ready, continuation) = AsyncStream.makeStream(of: ServerReadiness.self)
        let task = Task { try await server.run { continuation.yield($0) } }
        var iterator = ready.makeAsyncIterator()
        guard let readiness = await iterator.next(), let caFile = readiness.caFile, let keyFile = readiness.adminKeyFile else {
            throw TestFailure("the server did not start")
        }
        // The admin signs in the way the CLI does: an assertion signed with the admin key.
        let adminKey = try JSONDecoder().decode(AdminKeyFile.self, from: Data(contentsOf: URL(fileURLWithPath: keyFile)))
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        let client = try ServerClient(server: readiness.baseURL, caFile: caFile)
        let token: IssuedToken
        do {
            token = try await client.token(
                identity: adminKey.clientId, resource: "api://sigil-admin", caller: nil, tokenEndpoint: readiness.authority + "/oauth2/v2.0/token",
                hostKey: HostKey(key: try SigningKey(pem: adminKey.privateKey), kid: adminKey.kid))
        } catch {
            // An HTTP client dropped without shutdown is a crash (a slow machine times this
            // request out): shut it and the server down before giving up.
            await client.shutdown()
            await server.shutdown()
            _ = await task.result
            throw error
        }
        await client.shutdown()
        return LiveServer(
            server: server, task: task, baseURL: readiness.baseURL, caFile: caFile, folder: folder,
            http: HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls)), adminToken: token.accessToken)
    }

    private init(server: SigilServer, task: Task<Void, any Error>, baseURL: String, caFile: String, folder: URL, http: HTTPClient, adminToken: String) {
        self.server = server
        self.task = task
        self.baseURL = baseURL
        self.caFile = caFile
        self.folder = folder
        self.http = http
        self.adminToken = adminToken
    }

    /// Stops serving; the data folder stays until `remove()`.
    func stop() async {
        try? await http.shutdown()
        await server.shutdown()
        _ = await task.result
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// Calls the admin API; returns the JSON answer or throws with the server's message.
    @discardableResult
    func admin(_ method: String, _ path: String, _ json: JSONValue? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + "/admin/v1/" + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(adminToken)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json.serialized()))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        let answer = body.readableBytes == 0 ? JSONValue.null : try JSONParser.parse(Array(buffer: body))
        guard (200..<300).contains(response.status.code) else { throw TestFailure("\(method) \(path): \(response.status.code) \(answer.serialized())") }
        return answer
    }
}
