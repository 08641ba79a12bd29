import CLibFuzzer
import SigilCore

/// Credential parsing on arbitrary text: a certificate as PEM and as `x5c` base64 DER, a public
/// JWK (the bytes as a JSON object), and a private key as PEM. Each parses or throws.
private func fuzzCredentials(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? CertificateCredential(pem: text)
    _ = try? CertificateCredential(base64DER: text)
    if let object = try? JSONParser.parseObject(bytes) { _ = try? VerificationKey(jwk: object) }
    _ = try? SigningKey(pem: text)
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, with this test.
@_cdecl("FuzzCredentials_main")
public func fuzzCredentialsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzCredentials($0, $1) }
}
