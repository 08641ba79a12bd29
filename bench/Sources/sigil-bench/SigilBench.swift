import ArgumentParser
import Crypto
import Dispatch
import Foundation
import SigilCore
import Synchronization

/// Helpers for `bench/run.sh`: the machine's raw ES256 rate, and the pre-signed client
/// assertions the load generator sends (each single-use, so each request needs its own).
@main
struct SigilBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sigil-bench", abstract: "Benchmark helpers for bench/run.sh.",
        subcommands: [RawCrypto.self, KeyPair.self, Assertions.self, PacedLoad.self, LeakMatch.self, ConditionalAccessEvaluation.self])

    struct RawCrypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crypto", abstract: "ES256 sign-plus-verify pairs per second with swift-crypto, on N threads.")
        @Option var seconds = 5.0
        @Option var threads = ProcessInfo.processInfo.activeProcessorCount

        func run() {
            let key = P256.Signing.PrivateKey()
            let message = Data(repeating: 7, count: 600)  // about a JWT's signing input
            let counts = Mutex([Int](repeating: 0, count: threads))
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var done = 0
                while DispatchTime.now().uptimeNanoseconds < deadline {
                    let signature = try! key.signature(for: SHA256.hash(data: message))
                    precondition(key.publicKey.isValidSignature(signature, for: SHA256.hash(data: message)))
                    done += 1
                }
                counts.withLock { $0[thread] = done }
            }
            let total = counts.withLock { $0.reduce(0, +) }
            print(String(format: "%.0f", Double(total) / seconds))
        }
    }

    struct LeakMatch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "leak-match", abstract: "Time matching reported SHA-256s against N stored salted secret hashes (one thread).")
        @Option var credentials = 10_000
        @Option var reports = 1

        func run() {
            let secrets = (0..<credentials).map { _ in SigilSecretFormat.generate(.clientSecret) }
            let hashes = secrets.map(SecretHash.make(for:))
            // The last reported hash matches the last credential; the others match nothing.
            let reported = (0..<reports).map { index in
                Data(SHA256.hash(data: Data((index == reports - 1 ? secrets[credentials - 1] : SigilSecretFormat.generate(.clientSecret)).utf8)))
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let found = reported.map { LeakReport.match($0, in: hashes) }
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            precondition(found.last == credentials - 1 && found.dropLast().allSatisfy { $0 == nil })
            print(String(format: "%d reported x %d credentials: %.1f ms (%.2f µs a comparison)",
                reports, credentials, milliseconds, milliseconds * 1000 / Double(reports * credentials)))
        }
    }

    struct KeyPair: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keypair", abstract: "Write a P-256 private key (PEM) and its public JWK with a kid.")
        @Argument var privateKeyFile: String
        @Argument var jwkFile: String
        @Option var kid = "bench-key"

        func run() throws {
            let key = try SigningKey.generate(for: .es256)
            try key.pemRepresentation.write(toFile: privateKeyFile, atomically: true, encoding: .utf8)
            var jwk = key.publicKey.jwkMembers
            jwk["kid"] = .string(kid)
            try JSONValue.object(jwk).serialized().write(toFile: jwkFile, atomically: true, encoding: .utf8)
        }
    }

    struct Assertions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assertions", abstract: "Print N token-request bodies, each with its own signed client assertion.")
        @Option var key: String
        @Option var kid: String
        @Option var client: String
        @Option var audience: String
        @Option var scope: String
        @Option var count = 1
        @Option(help: "Assertion lifetime in seconds.") var lifetime = 3000

        func run() throws {
            let signingKey = try SigningKey(pem: String(contentsOfFile: key, encoding: .utf8))
            let now = Int64(Date().timeIntervalSince1970)
            var output = ""
            for _ in 0..<count {
                let claims: [String: JSONValue] = [
                    "iss": .string(client), "sub": .string(client), "aud": .string(audience), "jti": .string(UUID().uuidString),
                    "iat": .integer(now), "nbf": .integer(now), "exp": .integer(now + Int64(lifetime)),
                ]
                let assertion = try CompactJWS.sign(claims: claims, with: signingKey, kid: kid)
                output += FormParameters.encode([
                    ("grant_type", "client_credentials"), ("client_id", client), ("scope", scope),
                    ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
                ]) + "\n"
            }
            FileHandle.standardOutput.write(Data(output.utf8))
        }
    }
}

/// `sigil-bench ca-eval`: the cost of one Conditional Access evaluation on the token path (the
/// verdicts and the sign-in's result codes) with the policies and locations `ca_populate.py`
/// creates, in one thread.
struct ConditionalAccessEvaluation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca-eval", abstract: "Time Conditional Access evaluations with N policies over M named locations.")
    @Option var policies = 100
    @Option var locations = 1000
    @Option var evaluations = 200_000

    func run() throws {
        let now = Date()
        let named = try (0..<locations).map { n in
            NamedLocation(
                id: "location-\(n)", displayName: "bench-location-\(n)", isTrusted: n % 10 == 0,
                ranges: try ["10.\(n / 256).\(n % 256).0/24", "10.\(128 + n / 256).\(n % 256).0/24", "2001:db8:\(String(n, radix: 16))::/48"].map { try CIDRRange($0) },
                createdAt: now, modifiedAt: now)
        }
        let set = ConditionalAccessPolicySet(
            policies: (0..<policies).map { n in
                ConditionalAccessPolicy(
                    id: "policy-\(n)", displayName: "bench-policy-\(n)", state: .enabled, includeServicePrincipals: ["All"],
                    excludeServicePrincipals: ["admin"],
                    locations: .init(include: (0..<10).map { "location-\((n * 10 + $0) % locations)" }, exclude: n % 2 == 1 ? ["AllTrusted"] : []),
                    servicePrincipalRiskLevels: n % 10 == 0 ? [.high] : [], createdAt: now, modifiedAt: now)
            }, locations: named)
        var blocked = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for n in 0..<evaluations {
            let verdicts = set.evaluate(servicePrincipalId: "client", address: n % 2 == 0 ? "127.0.0.1" : "10.3.5.7", risk: .none)
            if let results = SignInPolicyResults(verdicts, snapshot: set.snapshot), results.codes.utf8.contains(UInt8(ascii: "f")) { blocked += 1 }
        }
        let micros = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(evaluations)
        print(String(format: "%d policies, %d locations: %.2f µs an evaluation (%d of %d blocked)", policies, locations, micros, blocked, evaluations))
    }
}
