import CLibFuzzer
import SigilCore

/// The token endpoint's `application/x-www-form-urlencoded` decoder on arbitrary bytes: it decodes
/// or refuses, and what it decodes encodes back to a body that decodes to the same parameters.
private func fuzzForm(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let form = try? FormParameters(decoding: bytes) else { return 0 }
    let body = FormParameters.encode(form.values.sorted { $0.key < $1.key })
    let again = try? FormParameters(decoding: Array(body.utf8))
    precondition(again?.values == form.values, "decoded parameters do not survive encoding")
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, with this test.
@_cdecl("FuzzForm_main")
public func fuzzFormMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzForm($0, $1) }
}
