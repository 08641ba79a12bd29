import Foundation
import TOMLKit

/// A rule from `.sigil-scan.toml`: a regular expression tried on each line that holds one of its
/// keywords (or on every line when it has none), with an optional entropy floor.
public struct CustomRuleDetector: Detector {
    public let rule: Rule
    let keywordList: [Keyword]
    let regex: SendableRegex
    let minimumEntropy: Double?

    /// Swift's `Regex` is not `Sendable`; this one is only ever read.
    final class SendableRegex: @unchecked Sendable {
        let regex: Regex<AnyRegexOutput>
        init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
    }

    public var keywords: [Keyword] { keywordList }

    /// Whether the rule has no keywords, so every line must be tried.
    var readsEveryLine: Bool { keywordList.isEmpty }

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        detect(in: text, line: text.lineStart(before: keyword.lowerBound)..<text.lineEnd(after: keyword.lowerBound), into: &detections)
    }

    /// Tries every line: the slow path for rules without keywords.
    func detectEveryLine(in text: ScanText, into detections: inout [Detection]) {
        var start = 0
        while start < text.count {
            let end = text.lineEnd(after: start)
            detect(in: text, line: start..<end, into: &detections)
            start = text.at(end) == UInt8(ascii: "\n") ? end + 1 : end
        }
    }

    func detect(in text: ScanText, line range: Range<Int>, into detections: inout [Detection]) {
        guard range.count > 0 else { return }
        // Each byte becomes one ASCII character (non-ASCII ones `?`), so a match's offsets in the
        // string are byte offsets in the text, whatever the encoding, valid or not.
        let line = String(decoding: text.bytes[range].map { $0 < 0x80 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        for match in line.matches(of: regex.regex) {
            guard let whole = match.output[0].range else { continue }
            let secretRange = (match.output.count > 1 ? match.output[1].range : nil) ?? whole
            let start = range.lowerBound + line.utf8.distance(from: line.startIndex, to: secretRange.lowerBound)
            let end = range.lowerBound + line.utf8.distance(from: line.startIndex, to: secretRange.upperBound)
            let matchStart = range.lowerBound + line.utf8.distance(from: line.startIndex, to: whole.lowerBound)
            guard range.lowerBound <= matchStart, matchStart <= start, start < end, end <= range.upperBound else { continue }
            if let minimumEntropy, ValueJudgement.entropy(text.string(start..<end)) < minimumEntropy { continue }
            let detection = Detection(rule: rule, secret: start..<end, match: matchStart..<end)
            // A line with two keywords is read twice; report each match once.
            if !detections.contains(detection) { detections.append(detection) }
        }
    }

    static func parse(_ table: TOMLTable, file: String, line: Int?, locator: ScanConfiguration.Locator) throws(ScanConfiguration.Problem) -> CustomRuleDetector {
        typealias Problem = ScanConfiguration.Problem
        let allowed: Set<String> = ["id", "description", "regex", "keywords", "entropy"]
        for key in table.keys where !allowed.contains(key) {
            throw Problem(file: file, line: locator.line(ofKey: key, after: (line ?? 1) - 1) ?? line, message: "unknown rule setting '\(key)'; expected id, description, regex, keywords or entropy")
        }
        func lineOf(_ key: String) -> Int? { locator.line(ofKey: key, after: (line ?? 1) - 1) ?? line }
        guard let id = table["id"]?.string, !id.isEmpty,
              id.utf8.allSatisfy({ ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else {
            throw Problem(file: file, line: lineOf("id"), message: "each rule needs an id of letters, digits, '-' and '_'")
        }
        guard let source = table["regex"]?.string, !source.isEmpty else {
            throw Problem(file: file, line: lineOf("regex"), message: "rule '\(id)' needs a regex")
        }
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(source)
        } catch {
            throw Problem(file: file, line: lineOf("regex"), message: "rule '\(id)': the regex does not compile: \(error)")
        }
        var keywords: [Keyword] = []
        if let value = table["keywords"] {
            for keyword in try ScanConfiguration.strings(value, key: "keywords", file: file, line: lineOf("keywords")) {
                guard keyword.utf8.count >= 2 else {
                    throw Problem(file: file, line: lineOf("keywords"), message: "rule '\(id)': keywords must be at least 2 characters ('\(keyword)')")
                }
                keywords.append(Keyword(keyword.lowercased(), caseSensitive: false))
            }
        }
        var entropy: Double?
        if let value = table["entropy"] {
            guard let number = value.double ?? value.int.map(Double.init), (0...8).contains(number) else {
                throw Problem(file: file, line: lineOf("entropy"), message: "rule '\(id)': entropy must be a number from 0 to 8 (bits per character)")
            }
            entropy = number
        }
        let description = table["description"]?.string ?? id
        return CustomRuleDetector(
            rule: Rule(id: id, description: description, precedence: 3), keywordList: keywords,
            regex: SendableRegex(regex), minimumEntropy: entropy)
    }
}
