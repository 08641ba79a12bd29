import Foundation
import Testing
@testable import SigilScanner

/// Precision and recall on the labeled corpus (Tests/SigilScannerTests/Corpus): realistic files in
/// many languages with positives of every rule and hard negatives of every kind the rules document
/// says are not secrets. A finding is a true positive when a label of the same rule covers its
/// line (a multi-line value covers all of its lines); every other finding is a false positive.
///
/// The files under `shapes/<shape>/` hold the secrets that hide in context (issue 13: split lines,
/// encodings, command lines, inline assignments, URLs, misjudged values, token formats, placeholders),
/// each with its hard negatives; they are scored per shape as well as in the whole corpus.
@Suite struct CorpusQualityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    /// The shape folders of issue 13, in the order of the issue.
    static let shapes = ["split-lines", "encoded", "command-lines", "inline-assignments", "urls", "misjudged-values",
                         "token-formats", "placeholders"]

    struct Score {
        var truePositives = 0
        var falsePositives: [String] = []
        var misses: [String] = []
        var labels = 0
        var precision: Double { Double(truePositives) / Double(max(1, truePositives + falsePositives.count)) }
        var recall: Double { Double(labels - misses.count) / Double(max(1, labels)) }

        mutating func add(_ other: Score) {
            truePositives += other.truePositives
            falsePositives += other.falsePositives
            misses += other.misses
            labels += other.labels
        }

        func line(_ name: String, seed: UInt64) -> String {
            "\(name) (seed \(seed)): \(labels) labels, \(truePositives) true positives, \(falsePositives.count) false positives, "
                + "\(misses.count) missed; " + String(format: "precision %.3f, recall %.3f", precision, recall)
        }
    }

    /// The shape a corpus path belongs to (`shapes/urls/…` → `urls`), or nil outside `shapes/`.
    static func shape(of path: String) -> String? {
        let parts = path.split(separator: "/")
        guard parts.count > 2, parts[0] == "shapes" else { return nil }
        return String(parts[1])
    }

    static func score(_ file: LabeledFile, scanner: SecretScanner) -> Score {
        var score = Score()
        let findings = Array(file.text.utf8).withUnsafeBufferPointer { scanner.findings(in: $0, source: ScanSource(path: file.path)) }
        var matched = Set<Int>()
        for finding in findings {
            let label = file.expected.indices.first { index in
                let expected = file.expected[index]
                let span = expected.line..<(expected.line + max(1, expected.value.split(separator: "\n", omittingEmptySubsequences: false).count))
                return !matched.contains(index) && expected.rule == finding.rule.id && span.contains(finding.line)
            }
            if let label {
                matched.insert(label)
                score.truePositives += 1
            } else {
                score.falsePositives.append("\(file.path):\(finding.line) \(finding.rule.id) \(finding.redacted)")
            }
        }
        score.labels = file.expected.count
        let lines = file.text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, expected) in file.expected.enumerated() where !matched.contains(index) {
            // The line as written, with the generated value shown by its rule, not its text.
            let line = lines[expected.line - 1].replacingOccurrences(of: expected.value.split(separator: "\n").first.map(String.init) ?? "", with: "⟦\(expected.rule)⟧")
            score.misses.append("\(file.path):\(expected.line) \(expected.rule): \(line.trimmingCharacters(in: .whitespaces).prefix(160))")
        }
        return score
    }

    /// The whole corpus, and each shape folder of `shapes` (empty when the folder has no files).
    static func scores(seed: UInt64) throws -> (overall: Score, shapes: [String: Score]) {
        var overall = Score()
        var byShape: [String: Score] = [:]
        let scanner = SecretScanner()
        for file in try Corpus.load(root: root, seed: seed) {
            let fileScore = Self.score(file, scanner: scanner)
            overall.add(fileScore)
            if let shape = Self.shape(of: file.path) { byShape[shape, default: Score()].add(fileScore) }
        }
        return (overall, byShape)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func precisionAndRecallAreAtLeast97Percent(seed: UInt64) throws {
        let (score, shapes) = try Self.scores(seed: seed)
        print(score.line("corpus", seed: seed))
        for shape in Self.shapes {
            print("  " + (shapes[shape] ?? Score()).line("shapes/\(shape)", seed: seed))
        }
        for line in score.falsePositives { print("  false positive: \(line)") }
        for line in score.misses { print("  missed: \(line)") }
        #expect(score.labels >= 200)
        #expect(score.precision >= 0.97)
        #expect(score.recall >= 0.97)
    }

    /// Every shape of issue 13 is in the corpus with its positives, and `shapes/` holds no other
    /// folder (a misspelt one would drop out of the per-shape figures).
    @Test func everyShapeHasItsFolderAndPositives() throws {
        let files = try Corpus.load(root: Self.root, seed: 1)
        let folders = Set(files.compactMap { Self.shape(of: $0.path) })
        #expect(folders == Set(Self.shapes))
        for shape in Self.shapes {
            let labels = files.filter { Self.shape(of: $0.path) == shape }.reduce(0) { $0 + $1.expected.count }
            #expect(labels >= 25, "shapes/\(shape) has \(labels) labels")
        }
    }

    /// Each rule id is a label somewhere in the corpus; each rule added by issue 13 at least three times.
    @Test func everyRuleIsLabelled() throws {
        var counts: [String: Int] = [:]
        for file in try Corpus.load(root: Self.root, seed: 1) {
            for expected in file.expected { counts[expected.rule, default: 0] += 1 }
        }
        let added = SecretFactory.ruleIDs.drop { $0 != "slack-legacy-token" }
        for rule in SecretFactory.ruleIDs {
            #expect(counts[rule, default: 0] >= (added.contains(rule) ? 3 : 1), "\(rule): \(counts[rule, default: 0]) labels")
        }
    }
}
