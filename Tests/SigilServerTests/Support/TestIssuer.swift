import Crypto
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import Synchronization
import _CryptoExtras
@testable import SigilServer
import SigilCore

/// A real OIDC issuer for the federation tests: HTTPS on a loopback port with its own CA, a
/// discovery document and a JWKS of keys it generates (RSA, P-256, Ed25519), and switchable
/// misbehaviour for the hostile-issuer cases. It counts the requests it gets.
final class TestIssuer: Sendable {
    enum Mode: Sendable, Equatable {
        case normal
        case slow(seconds: Int)
        case trickle
        case huge
        case notJSON
        case serverError
        case redirect(String)
        case namesAnotherIssuer
    }

    let url: String
    let caPEM: String
    let rsa = try! SigningKey.generate(for: .rs256)
    let ec = SigningKey.p256(P256.Signing.PrivateKey())
    let ed = Curve25519.Signing.PrivateKey()
    /// Published with `"alg": "RS256"`: PS256 signatures with it must be refused.
    let rsaRS256Only = try! SigningKey.generate(for: .rs256)
    private let state = Mutex<(mode: Mode, requests: [String: Int])>((.normal, [:]))
    private let task: Task<Void, any Error>

    var mode: Mode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }

    func requests(_ path: String) -> Int { state.withLock { $0.requests[path] ?? 0 } }

    static func start() async throws -> TestIssuer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sigil-issuer-\(UUID().uuidString)")
        let tls = try SelfSignedTLS.ensure(in: try DataFolder(path: folder.path), logger: .init(label: "test-issuer"))
        let (ready, continuation) = AsyncStream.makeStream(of: Int.self)
        let box = Mutex<TestIssuer?>(nil)
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ in try await box.withLock { $0! }.answer("discovery") }
        router.get("/jwks") { _, _ in try await box.withLock { $0! }.answer("jwks") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        var logger = Logger(label: "test-issuer")
        logger.logLevel = .critical
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: configuration),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService() }
        var iterator = ready.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("issuer did not start") }
        let issuer = TestIssuer(url: "https://127.0.0.1:\(port)", caPEM: try String(contentsOfFile: tls.ca, encoding: .utf8), task: task)
        box.withLock { $0 = issuer }
        return issuer
    }

    private init(url: String, caPEM: String, task: Task<Void, any Error>) {
        self.url = url
        self.caPEM = caPEM
        self.task = task
    }

    func stop() { task.cancel() }

    func kid(_ key: SigningKey) -> String { "kid-" + key.publicKey.thumbprint.prefix(8) }
    var edKid: String { "kid-ed25519" }

    private func answer(_ path: String) async throws -> Response {
        let mode = state.withLock { state in
            state.requests[path, default: 0] += 1
            return state.mode
        }
        switch mode {
        case .slow(let seconds):
            try await Task.sleep(for: .seconds(seconds))
        case .trickle:
            let text = Array(document(path).serialized().utf8)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                for byte in text {
                    try await writer.write(ByteBuffer(bytes: [byte]))
                    try await Task.sleep(for: .milliseconds(500))
                }
                try await writer.finish(nil)
            })
        case .huge:
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: " "), count: 4 << 20)))
        case .notJSON:
            return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>hello</html>")))
        case .serverError:
            return Response(status: .internalServerError)
        case .redirect(let location):
            return Response(status: .found, headers: [.location: location])
        case .normal, .namesAnotherIssuer:
            break
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: document(path).serialized())))
    }

    private func document(_ path: String) -> JSONValue {
        if path == "discovery" {
            return [
                "issuer": .string(mode == .namesAnotherIssuer ? "https://someone-else.example" : url), "jwks_uri": .string(url + "/jwks"),
                "response_types_supported": ["id_token"], "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            ]
        }
        var keys: [JSONValue] = []
        for key in [rsa, ec] {
            var jwk = key.publicKey.jwkMembers
            jwk["kid"] = .string(kid(key))
            jwk["use"] = "sig"
            keys.append(.object(jwk))
        }
        var narrowed = rsaRS256Only.publicKey.jwkMembers
        narrowed["kid"] = .string(kid(rsaRS256Only))
        narrowed["alg"] = "RS256"
        keys.append(.object(narrowed))
        var edJWK = VerificationKey.ed25519(ed.publicKey).jwkMembers
        edJWK["kid"] = .string(edKid)
        keys.append(.object(edJWK))
        keys.append(["kty": "oct", "k": "c2VjcmV0", "kid": "symmetric"])  // not a signature key Sigil uses: skipped
        return ["keys": .array(keys)]
    }

    /// A token for `subject`, signed with `key` (RS256 for RSA unless `alg` says PS256).
    func token(
        subject: String, audience: String = "api://AzureADTokenExchange", key: SigningKey? = nil, kid: String? = nil, lifetime: Int64 = 600,
        claims extra: [String: JSONValue] = [:], header: [String: JSONValue] = [:], issuer: String? = nil
    ) throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": .string(issuer ?? url), "sub": .string(subject), "aud": .string(audience), "iat": .integer(now), "nbf": .integer(now),
            "exp": .integer(now + lifetime), "jti": .string(UUID().uuidString),
        ]
        claims.merge(extra) { _, new in new }
        let signer = key ?? rsa
        return try CompactJWS.sign(claims: claims, with: signer, kid: kid ?? self.kid(signer), extraHeader: header)
    }

    /// An EdDSA token (Sigil only verifies EdDSA, so it is signed here by hand).
    func edToken(subject: String, audience: String = "api://AzureADTokenExchange") throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let header: JSONValue = ["alg": "EdDSA", "typ": "JWT", "kid": .string(edKid)]
        let claims: JSONValue = [
            "iss": .string(url), "sub": .string(subject), "aud": .string(audience), "iat": .integer(now), "exp": .integer(now + 600),
        ]
        let input = Base64URL.encode(Array(header.serialized().utf8)) + "." + Base64URL.encode(Array(claims.serialized().utf8))
        return input + "." + Base64URL.encode(try ed.signature(for: Data(input.utf8)))
    }
}
