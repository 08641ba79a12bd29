import Foundation
import Testing
@testable import SigilScanner
@testable import SigilScanSources

/// A fresh folder under the system's temporary folder.
func temporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "sigil-scan-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func write(_ text: String, _ path: String) throws {
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
}

@Suite struct FileSourceTests {
    let token = githubToken("ghp_")

    func run(_ root: String, options: FileSource.Options = .init()) -> ScanReport {
        FileSource(scanner: SecretScanner(), options: options).scan([root])
    }

    @Test func gitignoreBinariesAndLinks() throws {
        let root = try temporaryFolder()
        try write("t = \"\(token)\"\n", root + "/src/app.py")
        try write("t = \"\(token)\"\n", root + "/build/out.py")
        try write("build/\n", root + "/.gitignore")
        try write("t = \"\(token)\"\n", root + "/.git/config")
        var binary = Data([0x7F, 0x45, 0x4C, 0x46, 0])
        binary.append(Data("t = \"\(token)\"\n".utf8))
        try binary.write(to: URL(fileURLWithPath: root + "/src/tool.bin"))
        try FileManager.default.createSymbolicLink(atPath: root + "/src/loop", withDestinationPath: root)
        try FileManager.default.createSymbolicLink(atPath: root + "/src/dangling", withDestinationPath: root + "/nowhere")
        let report = run(root)
        #expect(report.findings.map(\.file) == ["src/app.py"])
        #expect(report.problems.isEmpty)
        var options = FileSource.Options()
        options.respectGitignore = false
        #expect(run(root, options: options).findings.map(\.file).sorted() == ["build/out.py", "src/app.py"])
    }

    @Test func invalidUTF8NULsAndLongLines() throws {
        let root = try temporaryFolder()
        var bytes = Data([0xFF, 0xFE, 0xC3, 0x28, 0x0A])
        bytes.append(Data("t = \"\(token)\"\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: root + "/latin.txt"))
        let long = String(repeating: "a", count: 50_000) + " \(token) " + String(repeating: "b", count: 50_000) + "\n"
        try write(long, root + "/long.txt")
        // A NUL after the first 8 kB does not make a file binary.
        try write(String(repeating: "x", count: 9000) + "\u{0}\nt = \"\(token)\"\n", root + "/late-nul.txt")
        let findings = run(root).findings.sorted { $0.file < $1.file }
        #expect(findings.map(\.file) == ["late-nul.txt", "latin.txt", "long.txt"])
        #expect(findings[2].column == 50_002)
    }

    @Test func sizeLimitAndUnreadablePaths() throws {
        let root = try temporaryFolder()
        try write("t = \"\(token)\"\n", root + "/small.py")
        let huge = root + "/huge.log"
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: 2 << 30)
        try handle.close()
        let report = FileSource(scanner: SecretScanner(), options: .init()).scan([root, root + "/missing.txt"])
        // Two roots: paths are shown with their root.
        #expect(report.findings.map(\.file) == [root + "/small.py"])
        #expect(report.problems.contains { $0.path == root + "/huge.log" && $0.message.contains("--max-file-size") })
        #expect(report.problems.contains { $0.path.hasSuffix("missing.txt") && $0.message.contains("No such file") })
    }

    @Test func largeFilesAreScannedInPiecesWithoutLosingOrDoublingFindings() throws {
        let root = try temporaryFolder()
        // 20 MB: three pieces. Secrets right at the piece boundaries and elsewhere.
        var text = ""
        var expected: [Int] = []
        var line = 1
        let filler = String(repeating: "z", count: 99) + "\n"
        while text.utf8.count < 20 << 20 {
            let size = text.utf8.count
            if line % 40_000 == 7 || (size > (8 << 20) - 200 && size < (8 << 20) + 200) || (size > (16 << 20) - 70_000 && size < (16 << 20) - 65_000) {
                text += "t = \"\(token)\"\n"
                expected.append(line)
            } else {
                text += filler
            }
            line += 1
        }
        try write(text, root + "/big.txt")
        var options = FileSource.Options()
        options.maximumFileSize = 0
        let findings = run(root, options: options).findings
        #expect(findings.map(\.line).sorted() == expected)
    }
}
