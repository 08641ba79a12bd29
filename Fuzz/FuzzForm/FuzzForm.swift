import CLibFuzzer
import SigilFuzzChecks

/// The entry point (SwiftPM links `main` to it): libFuzzer's driver with `FuzzChecks.form`.
@_cdecl("FuzzForm_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { FuzzChecks.run(FuzzChecks.form, $0, $1) }
}
