import CLibFuzzer
import SigilFuzzChecks

/// The entry point (SwiftPM links `main` to it): libFuzzer's driver with `FuzzChecks.jose`.
@_cdecl("FuzzJOSE_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { FuzzChecks.run(FuzzChecks.jose, $0, $1) }
}
