import CLibFuzzer
import SigilScanner

/// The scanner's engine on arbitrary bytes, read as each file format: detections stay inside the
/// buffer and never cross each other once overlaps are resolved.
private func fuzzScanner(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for format in [ScanText.Format.code, .configuration, .markdown, .properties] {
        let detections = engine.detections(in: bytes, format: format)
        var previousEnd = 0
        for detection in detections {
            precondition(detection.secret.lowerBound >= 0 && detection.secret.upperBound <= size, "a secret outside the buffer")
            precondition(detection.secret.lowerBound >= previousEnd, "overlapping detections")
            previousEnd = detection.secret.upperBound
        }
    }
    return 0
}

private let engine = ScanEngine()

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, with this test.
@_cdecl("FuzzScanner_main")
public func fuzzScannerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzScanner($0, $1) }
}
