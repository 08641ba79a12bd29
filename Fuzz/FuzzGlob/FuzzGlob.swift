import CLibFuzzer
import SigilScanner

/// The `.gitignore` glob matcher on arbitrary text: the first line is a pattern, the second a path;
/// a pattern that parses matches or not without crashing, as a file and as a folder.
private func fuzzGlob(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    guard let pattern = GlobPattern(line: String(lines[0])) else { return 0 }
    let path = lines.count > 1 ? String(lines[1]) : "src/main.swift"
    _ = pattern.matches(path, isDirectory: false)
    _ = pattern.matches(path, isDirectory: true)
    _ = GlobList(lines: text.split(separator: "\n")).verdict(path, isDirectory: false)
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver, with this test.
@_cdecl("FuzzGlob_main")
public func fuzzGlobMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzGlob($0, $1) }
}
