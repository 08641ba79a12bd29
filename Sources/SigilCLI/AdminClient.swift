import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import NIOSSL
import SigilCore
import SigilServer

/// The CLI's saved connection: which server, which CA to trust, which admin key to sign with.
/// Paths only; the key itself stays where the administrator keeps it. The profile also keeps
/// the token endpoint that discovery named, and the last admin access token until shortly before
/// it expires (the file is 0600), so commands do not each sign in again and swamp the sign-in log.
struct Profile: Codable {
    var server: String
    var caFile: String?
    var keyFile: String
    /// The token endpoint from the server's discovery document (what the assertion's `aud` names).
    var tokenEndpoint: String?
    var accessToken: String?
    /// Seconds since 1970.
    var accessTokenExpiresOn: Double?
    /// Tokens for other resources (the vault), by scope.
    var otherTokens: [String: CachedToken]?

    struct CachedToken: Codable {
        var token: String
        /// Seconds since 1970.
        var expiresOn: Double
    }

    init(server: String, caFile: String?, keyFile: String) {
        self.server = server
        self.caFile = caFile
        self.keyFile = keyFile
    }

    /// `$SIGIL_PROFILE`, else `~/.config/sigil/profile.json`.
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["SIGIL_PROFILE"] { return path }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + "/.config/sigil/profile.json"
    }

    static func load() throws -> Profile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("not logged in: run `sigil login --server URL --ca CA.pem --key admin-key.json` first (no profile at \(path))")
        }
        do {
            return try JSONDecoder().decode(Profile.self, from: data)
        } catch {
            throw CLIError("the profile \(path) is damaged; run `sigil login` again")
        }
    }

    func save() throws {
        let url = URL(fileURLWithPath: Self.path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try DataFolder.writeAtomically(Self.path, String(decoding: try encoder.encode(self), as: UTF8.self), mode: 0o600)
    }
}

/// A one-line error for the user; the CLI prints it and exits non-zero.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    /// The server could not be reached at all (as opposed to answering with a refusal).
    var unreachable = false
    /// The HTTP status of the server's refusal, when it answered with one.
    var status: Int?
    init(_ description: String, unreachable: Bool = false, status: Int? = nil) {
        self.description = description
        self.unreachable = unreachable
        self.status = status
    }
}

/// An HTTPS client of the admin API. It signs a short-lived `private_key_jwt` assertion with
/// the admin key, trades it for an access token to the admin API, and sends that as a bearer token.
final class AdminClient {
    private(set) var profile: Profile {
        didSet { profileChanged = true }
    }
    private var profileChanged = false
    let key: AdminKeyFile
    let http: HTTPClient
    /// A cached token is used until this long before it expires.
    static let tokenRenewalMargin: TimeInterval = 120

    init(profile: Profile) throws {
        self.profile = profile
        guard let data = FileManager.default.contents(atPath: profile.keyFile) else {
            throw CLIError("cannot read the admin key file \(profile.keyFile)")
        }
        do {
            key = try JSONDecoder().decode(AdminKeyFile.self, from: data)
        } catch {
            throw CLIError("\(profile.keyFile) is not a Sigil admin key file")
        }
        http = try Self.httpClient(caFile: profile.caFile)
    }

    /// An HTTPS client trusting `caFile` (the system's roots when nil).
    static func httpClient(caFile: String?) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw CLIError("cannot read the CA file \(ca): \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // Each call has a deadline of its own (`call(timeout:)`), so a long one such as a KEK rotation is not cut off by an idle read.
        configuration.timeout = .init(connect: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async { try? await http.shutdown() }

    /// The token endpoint as the server's discovery document names it (as the client libraries
    /// find it), so the assertion's `aud` is right whatever host name the profile uses.
    func tokenEndpoint() async throws -> String {
        if let known = profile.tokenEndpoint { return known }
        let url = "\(profile.server)/\(key.tenantId)/v2.0/.well-known/openid-configuration"
        let (status, body) = try await send("GET", url: url, body: nil, contentType: nil, bearer: nil)
        guard status == 200, let endpoint = (try? JSONParser.parseObject(Array(body)))?["token_endpoint"]?.stringValue else {
            throw CLIError("\(profile.server) has no discovery document for tenant \(key.tenantId) (HTTP \(status)); is it the Sigil server the admin key belongs to?")
        }
        profile.tokenEndpoint = endpoint
        return endpoint
    }

    /// An access token for `scope` (the admin API unless told otherwise): the profile's while it
    /// has a while to live, else a new one.
    func accessToken(scope: String = adminScope) async throws -> String {
        let cached = scope == Self.adminScope
            ? profile.accessToken.map { Profile.CachedToken(token: $0, expiresOn: profile.accessTokenExpiresOn ?? 0) } : profile.otherTokens?[scope]
        if let cached, cached.expiresOn - Self.tokenRenewalMargin > Date().timeIntervalSince1970 { return cached.token }
        let tokenEndpoint = try await tokenEndpoint()
        let now = Int64(Date().timeIntervalSince1970)
        let claims: [String: JSONValue] = [
            "iss": .string(key.clientId), "sub": .string(key.clientId), "aud": .string(tokenEndpoint),
            "iat": .integer(now), "nbf": .integer(now), "exp": .integer(now + 300), "jti": .string(UUID().uuidString),
        ]
        let signingKey: SigningKey
        do {
            signingKey = try SigningKey(pem: key.privateKey)
        } catch {
            throw CLIError("the admin key file \(profile.keyFile) holds no usable private key")
        }
        let assertion = try CompactJWS.sign(claims: claims, with: signingKey, kid: key.kid)
        let form = FormParameters.encode([
            ("grant_type", "client_credentials"), ("client_id", key.clientId), ("scope", scope),
            ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
        ])
        let (status, body) = try await send("POST", url: tokenEndpoint, body: Data(form.utf8), contentType: "application/x-www-form-urlencoded", bearer: nil)
        let object = (try? JSONParser.parseObject(Array(body))) ?? [:]
        guard status == 200, let token = object["access_token"]?.stringValue else {
            let reason = object["error_description"]?.stringValue ?? "HTTP \(status)"
            throw CLIError("cannot sign in to \(profile.server): \(reason)")
        }
        let fresh = Profile.CachedToken(token: token, expiresOn: Double(now) + Double(object["expires_in"]?.integerValue ?? 0))
        if scope == Self.adminScope {
            profile.accessToken = fresh.token
            profile.accessTokenExpiresOn = fresh.expiresOn
        } else {
            profile.otherTokens = (profile.otherTokens ?? [:]).merging([scope: fresh]) { $1 }
        }
        return token
    }

    static let adminScope = "api://sigil-admin/.default"

    /// Forgets the cached token for `scope`, after the server refused it.
    func forgetToken(scope: String) {
        if scope == Self.adminScope { profile.accessToken = nil } else { profile.otherTokens?[scope] = nil }
    }

    /// Saves the profile (0600) when this client learned something new: a token, the endpoint.
    func saveProfile() {
        if profileChanged { try? profile.save() }
    }

    /// Calls the admin API; returns the parsed JSON body, or throws the server's error message.
    @discardableResult
    func call(_ method: String, _ path: String, json: JSONValue? = nil, query: [(String, String)] = [], timeout: TimeAmount = .seconds(60)) async throws -> JSONValue {
        var url = "\(profile.server)/admin/v1/\(path)"
        if !query.isEmpty { url += "?" + FormParameters.encode(query) }
        var (status, body) = try await send(
            method, url: url, body: json.map { Data($0.serialized().utf8) }, contentType: json == nil ? nil : "application/json",
            bearer: try await accessToken(), timeout: timeout)
        if status == 401, profile.accessToken != nil {
            // The cached token no longer works (keys rotated, server reset): sign in once more.
            forgetToken(scope: Self.adminScope)
            (status, body) = try await send(
                method, url: url, body: json.map { Data($0.serialized().utf8) }, contentType: json == nil ? nil : "application/json",
                bearer: try await accessToken(), timeout: timeout)
        }
        let parsed = body.isEmpty ? JSONValue.null : ((try? JSONParser.parse(Array(body))) ?? .null)
        guard (200..<300).contains(status) else {
            let message = parsed.objectValue?["error"]?.objectValue?["message"]?.stringValue ?? "HTTP \(status)"
            throw CLIError(message, status: status)
        }
        return parsed
    }

    func send(_ method: String, url: String, body: Data?, contentType: String?, bearer: String?, timeout: TimeAmount = .seconds(60)) async throws -> (Int, Data) {
        let (status, data, _) = try await exchange(method, url: url, body: body, contentType: contentType, bearer: bearer, timeout: timeout)
        return (status, data)
    }

    /// Sends one request; returns the status, the body (at most 16 MB) and the response headers.
    func exchange(
        _ method: String, url: String, body: Data?, contentType: String?, bearer: String?, timeout: TimeAmount = .seconds(60)
    ) async throws -> (Int, Data, HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        request.headers.add(name: "User-Agent", value: "sigil-cli")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        do {
            let response = try await http.execute(request, timeout: timeout)
            var buffer = try await response.body.collect(upTo: 16 << 20)
            return (Int(response.status.code), buffer.readData(length: buffer.readableBytes) ?? Data(), response.headers)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("cannot reach \(profile.server): \(Self.describe(error))", unreachable: true)
        }
    }

    /// A network failure in a few words a user can act on: no errno numbers, no type names.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOSSLError:
            if case .handshakeFailed = error, "\(error)".contains("CERTIFICATE_VERIFY_FAILED") {
                return "its TLS certificate is not trusted; pass --ca FILE with the CA that signed it (the server's data folder has it as tls/ca.pem)"
            }
            return "the TLS handshake failed"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case let error as HTTPClientError where error == .connectTimeout:
            return "no connection within the timeout"
        case let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded:
            return "the server did not answer in time"
        default:
            return "\(error)".contains("Connection refused") ? "connection refused" : "\(error)"
        }
    }
}

/// Opens a client from the saved profile, runs `body`, and always shuts the client down.
func withAdminClient<T>(_ body: (AdminClient) async throws -> T) async throws -> T {
    let client = try AdminClient(profile: try Profile.load())
    do {
        let result = try await body(client)
        await PendingBypasses.send(with: client)
        client.saveProfile()
        await client.shutdown()
        return result
    } catch {
        client.saveProfile()
        await client.shutdown()
        throw error
    }
}
