import Foundation
import SigilFuzzChecks
import Testing

/// Every fuzz target's check replayed, without the sanitisers, on its seeds (`Fuzz/Seeds/<target>`)
/// and on every input a fuzzer once failed on (`Fuzz/Regressions/<target>`, one file per finding,
/// named after what it broke), so a fixed crash stays fixed in the test command.
@Suite struct FuzzRegressionTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(of target: String) throws -> [URL] {
        try ["Seeds", "Regressions"].flatMap { folder -> [URL] in
            let url = fuzzFolder.appendingPathComponent(folder).appendingPathComponent(target)
            guard FileManager.default.fileExists(atPath: url.path) else { return [] }
            return try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
        }
    }

    @Test(arguments: FuzzChecks.targets.keys.sorted())
    func replaysSeedsAndFindings(target: String) throws {
        let check = try #require(FuzzChecks.targets[target])
        let inputs = try Self.inputs(of: target)
        #expect(!inputs.isEmpty, "Fuzz/Seeds/\(target) has no seed")
        for input in inputs {
            let bytes = try [UInt8](Data(contentsOf: input))
            #expect(throws: Never.self, "\(input.lastPathComponent)") {
                try bytes.withUnsafeBufferPointer { buffer throws(FuzzChecks.Failure) in try check(buffer) }
            }
        }
    }

    @Test func everyFuzzTargetHasAFolderAndAScriptEntry() throws {
        let script = try String(contentsOf: Self.fuzzFolder.deletingLastPathComponent().appendingPathComponent("scripts/fuzz"), encoding: .utf8)
        for target in FuzzChecks.targets.keys {
            #expect(FileManager.default.fileExists(atPath: Self.fuzzFolder.appendingPathComponent("\(target)/\(target).swift").path), "\(target)")
            #expect(script.contains(target), "scripts/fuzz does not list \(target)")
        }
    }
}
