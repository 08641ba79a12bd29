import Foundation
import Testing
@testable import SigilScanner

/// Precision and recall on the labeled corpus (Tests/SigilScannerTests/Corpus): realistic files in
/// many languages with positives of every rule and hard negatives of every kind the rules document
/// says are not secrets. A finding is a true positive when a label of the same rule covers its
/// line (a multi-line value covers all of its lines); every other finding is a false positive.
@Suite struct CorpusQualityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    struct Score {
        var truePositives = 0
        var falsePositives: [String] = []
        var misses: [String] = []
        var labels = 0
        var precision: Double { Double(truePositives) / Double(max(1, truePositives + falsePositives.count)) }
        var recall: Double { Double(labels - misses.count) / Double(max(1, labels)) }
    }

    static func score(seed: UInt64) throws -> Score {
        var score = Score()
        let scanner = SecretScanner()
        for file in try Corpus.load(root: root, seed: seed) {
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
            score.labels += file.expected.count
            let lines = file.text.split(separator: "\n", omittingEmptySubsequences: false)
            for (index, expected) in file.expected.enumerated() where !matched.contains(index) {
                // The line as written, with the generated value shown by its rule, not its text.
                let line = lines[expected.line - 1].replacingOccurrences(of: expected.value.split(separator: "\n").first.map(String.init) ?? "", with: "⟦\(expected.rule)⟧")
                score.misses.append("\(file.path):\(expected.line) \(expected.rule): \(line.trimmingCharacters(in: .whitespaces).prefix(160))")
            }
        }
        return score
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func precisionAndRecallAreAtLeast95Percent(seed: UInt64) throws {
        let score = try Self.score(seed: seed)
        print(String(format: "corpus (seed %llu): %d labels, %d true positives, %d false positives, %d missed; precision %.3f, recall %.3f",
                     seed, score.labels, score.truePositives, score.falsePositives.count, score.misses.count, score.precision, score.recall))
        for line in score.falsePositives { print("  false positive: \(line)") }
        for line in score.misses { print("  missed: \(line)") }
        #expect(score.labels >= 200)
        #expect(score.precision >= 0.95)
        #expect(score.recall >= 0.95)
    }
}
