import CLibFuzzer
import Crypto
import SigilCore

/// Compact JWS and the strict JSON parser on arbitrary bytes: parsing never crashes, a JSON value
/// that parses serialises to text that parses to the same value, and a parsed token is verified
/// against a key without crashing.
private func fuzzJOSE(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let value = try? JSONParser.parse(bytes) {
        let again = try? JSONParser.parse(Array(value.serialized().utf8))
        precondition(again == value, "a parsed JSON value does not survive serialising")
    }
    if let jws = try? CompactJWS(parsing: String(decoding: bytes, as: UTF8.self)) {
        _ = try? jws.verify(with: key)
    }
    return 0
}

private let key = VerificationKey.p256(P256.Signing.PrivateKey().publicKey)

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, with this test.
@_cdecl("FuzzJOSE_main")
public func fuzzJOSEMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzJOSE($0, $1) }
}
