import Foundation
import Testing

/// Writes the labelled corpus out as files, for tools that are not Swift: bench/scan/quality.py runs
/// `sigil scan`, CredSweeper and detect-secrets on them and scores each against the labels. The
/// values come from `SecretFactory` through `Corpus.load`, as in CorpusQualityTests, so the bench
/// never needs a second generator.
///
/// Runs only when `SIGIL_CORPUS_DUMP=DIR` is set (skipped otherwise):
///   DIR/tree/<path>   every corpus file with its placeholders filled (seed `SIGIL_CORPUS_SEED`, default 1)
///   DIR/labels.json   {"seed", "files": [path], "labels": [{"path", "line", "lines", "rule"}]}
/// `line` is the 1-based line where the value starts and `lines` how many lines it spans. DIR must
/// be empty or absent, so no file of an earlier dump is scored.
@Suite struct CorpusDumpTests {
    static let environment = ProcessInfo.processInfo.environment
    static let directory = environment["SIGIL_CORPUS_DUMP"].flatMap { $0.isEmpty ? nil : $0 }

    struct Label: Codable, Equatable {
        let path: String
        let line: Int
        let lines: Int
        let rule: String
    }

    struct Labels: Codable {
        let seed: UInt64
        let files: [String]
        let labels: [Label]
    }

    /// Lines split at every LF, as the scanners count them (a Swift `Character` would keep CRLF whole).
    static func lines(of text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    @Test(.enabled(if: directory != nil, "set SIGIL_CORPUS_DUMP=DIR to write the rendered corpus there"))
    func writesTheRenderedCorpusAndItsLabels() throws {
        let root = URL(fileURLWithPath: try #require(Self.directory))
        let seed = try #require(UInt64(Self.environment["SIGIL_CORPUS_SEED"] ?? "1"), "SIGIL_CORPUS_SEED is not a number")
        let manager = FileManager.default
        let existing = (try? manager.contentsOfDirectory(atPath: root.path)) ?? []
        try #require(existing.isEmpty, "\(root.path) is not empty: give an empty or new folder")

        let files = try Corpus.load(root: CorpusQualityTests.root, seed: seed)
        let tree = root.appendingPathComponent("tree")
        var labels: [Label] = []
        for file in files {
            let url = tree.appendingPathComponent(file.path)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.text.utf8).write(to: url)
            for expected in file.expected {
                let lines = Self.lines(of: expected.value)
                labels.append(Label(path: file.path, line: expected.line, lines: lines.count, rule: expected.rule))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let document = Labels(seed: seed, files: files.map(\.path), labels: labels)
        try encoder.encode(document).write(to: root.appendingPathComponent("labels.json"))

        // What the bench will read back: the same bytes, and each label's first line on its line.
        let reread = try JSONDecoder().decode(Labels.self, from: Data(contentsOf: root.appendingPathComponent("labels.json")))
        #expect(reread.labels == labels)
        #expect(labels.count >= 200)
        for file in files {
            let text = try String(contentsOf: tree.appendingPathComponent(file.path), encoding: .utf8)
            #expect(text == file.text, "\(file.path) was not written as rendered")
            let lines = Self.lines(of: text)
            for expected in file.expected {
                let first = Self.lines(of: expected.value)[0]
                guard expected.line <= lines.count else {
                    Issue.record("\(file.path):\(expected.line) is past the file's \(lines.count) lines")
                    continue
                }
                #expect(lines[expected.line - 1].contains(first), "\(file.path):\(expected.line) does not hold its \(expected.rule) value")
            }
        }
        print("corpus dump (seed \(seed)): \(files.count) files, \(labels.count) labels in \(root.path)")
    }
}
