import Crypto
import SigilCore
import SigilScanner

/// What the fuzz targets check on arbitrary input (`scripts/fuzz`, `Fuzz/`), and what
/// `FuzzRegressionTests` replays on their seeds and on every input a fuzzer once failed on. A
/// check returns when the input is handled (parsed or refused) and throws when a property breaks;
/// a crash inside it is a finding too.
public enum FuzzChecks {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public typealias Check = @Sendable (UnsafeBufferPointer<UInt8>) throws(Failure) -> Void

    /// Every check by its fuzz target's name (`Fuzz/<name>`, `Fuzz/Seeds/<name>`).
    public static let targets: [String: Check] = [
        "FuzzJOSE": jose, "FuzzForm": form, "FuzzCredentials": credentials,
        "FuzzClaimsExpression": claimsExpression, "FuzzScanner": scanner, "FuzzGlob": glob,
    ]

    /// libFuzzer's test function around a check: a broken property stops the run with its reason.
    public static func run(_ check: Check, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        do {
            try check(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
        } catch {
            fatalError(error.description)
        }
        return 0
    }

    /// Compact JWS and the strict JSON parser: a JSON value that parses serialises to text that
    /// parses to the same value, and a parsed token is verified against a key.
    public static func jose(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        if let value = try? JSONParser.parse(bytes) {
            let again = try? JSONParser.parse(Array(value.serialized().utf8))
            guard again == value else { throw Failure(description: "a parsed JSON value does not survive serialising") }
        }
        if let jws = try? CompactJWS(parsing: String(decoding: bytes, as: UTF8.self)) {
            _ = try? jws.verify(with: verificationKey)
        }
    }

    private static let verificationKey = VerificationKey.p256(P256.Signing.PrivateKey().publicKey)

    /// The token endpoint's form decoder: what it decodes encodes back to a body that decodes to
    /// the same parameters.
    public static func form(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        guard let form = try? FormParameters(decoding: bytes) else { return }
        let body = FormParameters.encode(form.values.sorted { $0.key < $1.key })
        guard (try? FormParameters(decoding: Array(body.utf8)))?.values == form.values else {
            throw Failure(description: "decoded form parameters do not survive encoding")
        }
    }

    /// Certificates as PEM and as `x5c` base64 DER, a public JWK, and a private key as PEM: each
    /// parses or throws.
    public static func credentials(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? CertificateCredential(pem: text)
        _ = try? CertificateCredential(base64DER: text)
        if let object = try? JSONParser.parseObject(bytes) { _ = try? VerificationKey(jwk: object) }
        _ = try? SigningKey(pem: text)
    }

    /// A federated credential's claims-matching expression: it parses or throws, and a parsed one
    /// is evaluated against a set of claims.
    public static func claimsExpression(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        guard let expression = try? ClaimsMatchingExpression(parsing: String(decoding: bytes, as: UTF8.self)) else { return }
        _ = expression.matches(sampleClaims)
    }

    private static let sampleClaims: [String: JSONValue] = [
        "sub": .string("repo:acme/orders:ref:refs/heads/main"), "repository": .string("acme/orders"),
        "ref": .string("refs/heads/main"), "environment": .string("production"), "aud": .string("api://AzureADTokenExchange"),
        "run_number": .number(42), "tags": .array([.string("a"), .string("b")]), "nested": .object(["k": .string("v")]),
    ]

    /// The scanner's engine, reading the bytes as each file format: detections stay inside the
    /// buffer and do not overlap once overlaps are resolved.
    public static func scanner(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        for format in [ScanText.Format.code, .configuration, .markdown, .properties] {
            var previousEnd = 0
            for detection in engine.detections(in: bytes, format: format) {
                guard detection.secret.lowerBound >= previousEnd, detection.secret.upperBound <= bytes.count else {
                    throw Failure(description: "a \(detection.rule.id) detection at \(detection.secret) overlaps another or leaves the buffer")
                }
                previousEnd = detection.secret.upperBound
            }
        }
    }

    private static let engine = ScanEngine()

    /// The `.gitignore` matcher: the first line is a pattern, the second a path; a pattern that
    /// parses is matched as a file and as a folder, and all lines as a list.
    public static func glob(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let path = lines.count > 1 ? String(lines[1]) : "src/main.swift"
        if let pattern = GlobPattern(line: String(lines[0])) {
            _ = pattern.matches(path, isDirectory: false)
            _ = pattern.matches(path, isDirectory: true)
        }
        _ = GlobList(lines: text.split(separator: "\n")).verdict(path, isDirectory: false)
    }
}
