import Foundation
import SigilCore

/// Findings accepted as they are: a JSON file of fingerprints (`--write-baseline` writes it,
/// `--baseline` reads it). Fingerprints hold no secret material and survive line moves.
public struct Baseline: Sendable, Equatable {
    public let fingerprints: Set<String>

    public init(fingerprints: Set<String>) {
        self.fingerprints = fingerprints
    }

    public init(findings: [Finding]) {
        self.fingerprints = Set(findings.map(\.fingerprint))
    }

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The file's text for `findings`: each entry names rule, file and line for the reader.
    public static func serialize(_ findings: [Finding]) -> String {
        var seen = Set<String>()
        let entries: [JSONValue] = findings.sorted { ($0.file, $0.line, $0.fingerprint) < ($1.file, $1.line, $1.fingerprint) }.compactMap { finding in
            guard seen.insert(finding.fingerprint).inserted else { return nil }
            return .object([
                "fingerprint": .string(finding.fingerprint), "rule": .string(finding.rule.id),
                "file": .string(finding.file), "line": .number(Double(finding.line)),
            ])
        }
        return JSONValue.object(["version": .number(1), "findings": .array(entries)]).serialized() + "\n"
    }

    public static func parse(_ data: Data, file: String) throws(Problem) -> Baseline {
        let root: [String: JSONValue]
        do {
            root = try JSONParser.parseObject(data)
        } catch {
            throw Problem(description: "\(file): not a baseline file (\(error.description)); write one with --write-baseline")
        }
        guard root["version"]?.integerValue == 1, let entries = root["findings"]?.arrayValue else {
            throw Problem(description: "\(file): not a baseline file: expected {\"version\": 1, \"findings\": [...]}; write one with --write-baseline")
        }
        var fingerprints = Set<String>()
        for (index, entry) in entries.enumerated() {
            guard let fingerprint = entry.objectValue?["fingerprint"]?.stringValue, fingerprint.utf8.count == 32 else {
                throw Problem(description: "\(file): entry \(index + 1) has no 32-character fingerprint")
            }
            fingerprints.insert(fingerprint)
        }
        return Baseline(fingerprints: fingerprints)
    }

    public func contains(_ finding: Finding) -> Bool {
        fingerprints.contains(finding.fingerprint)
    }
}
