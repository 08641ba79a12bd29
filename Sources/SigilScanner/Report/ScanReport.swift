import Foundation
import SigilCore

/// A file or object the scan could not read, reported next to the findings (the scan goes on).
public struct SourceProblem: Sendable, Equatable {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// Everything one scan produced, and its three renderings: text, JSON (DESIGN §7) and SARIF.
public struct ScanReport: Sendable {
    public var findings: [Finding]
    public var problems: [SourceProblem]
    /// Findings a baseline or bypass let through, counted for the summary.
    public var suppressed: Int = 0
    /// Why findings were let through, when a hook was bypassed.
    public var bypassReason: String?
    /// The server's audit event for the bypass, when one was recorded.
    public var bypassAuditId: String?
    /// Where the bypass waits to be sent, when the server could not be reached.
    public var bypassQueuedIn: String?
    /// Whether a source failed part way (a corrupt repository): the findings are what was read.
    public var incomplete = false
    public var scannedObjects: Int = 0
    public var scannedBytes: Int = 0

    public init(findings: [Finding], problems: [SourceProblem] = []) {
        self.findings = findings
        self.problems = problems
    }

    /// Adds another report's findings, problems and counts to this one.
    public mutating func merge(_ other: ScanReport) {
        findings += other.findings
        problems += other.problems
        scannedObjects += other.scannedObjects
        scannedBytes += other.scannedBytes
        suppressed += other.suppressed
        incomplete = incomplete || other.incomplete
    }

    /// Findings in a stable order: by file, then line, then column.
    public var sortedFindings: [Finding] {
        findings.sorted {
            ($0.file, $0.commit?.id ?? "", $0.line, $0.column, $0.rule.id) < ($1.file, $1.commit?.id ?? "", $1.line, $1.column, $1.rule.id)
        }
    }

    // MARK: JSON

    public func json() -> String {
        var object: [String: JSONValue] = [
            "findings": .array(sortedFindings.map(Self.json)),
            "errors": .array(problems.map { .object(["file": .string($0.path), "message": .string($0.message)]) }),
        ]
        if let bypassReason {
            object["bypass"] = .object([
                "reason": .string(bypassReason), "auditEventId": .optional(bypassAuditId), "queuedIn": .optional(bypassQueuedIn),
            ])
        }
        return JSONValue.object(object).serialized()
    }

    static func json(_ finding: Finding) -> JSONValue {
        .object([
            "rule": .string(finding.rule.id),
            "description": .string(finding.rule.description),
            "file": .string(finding.file),
            "line": .number(Double(finding.line)),
            "column": .number(Double(finding.column)),
            "commit": .optional(finding.commit?.id),
            "author": .optional(finding.commit.map { "\($0.author) <\($0.email)>" }),
            "date": .optional(finding.commit?.date),
            "fingerprint": .string(finding.fingerprint),
            "redacted": .string(finding.redacted),
            "validity": .string(finding.validity.rawValue),
            "severity": .string(finding.rule.severity.rawValue),
        ])
    }

    /// SARIF's level for a rule's findings: `note` for a low-severity rule.
    static func sarifLevel(_ rule: Rule) -> String {
        rule.severity == .low ? "note" : "error"
    }

    // MARK: SARIF 2.1.0

    public static let informationURI = "https://github.com/sigil-identity/sigil/blob/main/docs/scanner-rules.md"

    public func sarif(toolVersion: String) -> String {
        let rules = (BuiltinRules.rules + findings.map(\.rule)).reduce(into: [Rule]()) { list, rule in
            if !list.contains(where: { $0.id == rule.id }) { list.append(rule) }
        }
        let ruleIndex = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($1.id, $0) })
        let driver: JSONValue = .object([
            "name": .string("sigil scan"),
            "informationUri": .string(Self.informationURI),
            "semanticVersion": .string(toolVersion),
            "rules": .array(rules.map { rule in
                .object([
                    "id": .string(rule.id),
                    "name": .string(Self.pascalCase(rule.id)),
                    "shortDescription": .object(["text": .string(rule.description)]),
                    "fullDescription": .object(["text": .string("\(rule.description) committed to source. Revoke or rotate it, then remove it from the code and its history.")]),
                    "defaultConfiguration": .object(["level": .string(Self.sarifLevel(rule))]),
                    "helpUri": .string(Self.informationURI),
                    "properties": .object(["tags": .array([.string("security"), .string("secret")])]),
                ])
            }),
        ])
        let results: [JSONValue] = sortedFindings.map { finding in
            var properties: [String: JSONValue] = ["validity": .string(finding.validity.rawValue), "redacted": .string(finding.redacted)]
            if let commit = finding.commit {
                properties["commit"] = .string(commit.id)
                properties["author"] = .string("\(commit.author) <\(commit.email)>")
                properties["date"] = .string(commit.date)
            }
            return .object([
                "ruleId": .string(finding.rule.id),
                "ruleIndex": .number(Double(ruleIndex[finding.rule.id] ?? 0)),
                "level": .string(Self.sarifLevel(finding.rule)),
                "message": .object(["text": .string("\(finding.rule.description) (\(finding.redacted))")]),
                "locations": .array([.object([
                    "physicalLocation": .object([
                        "artifactLocation": .object(["uri": .string(Self.uri(finding.file))]),
                        "region": .object(["startLine": .number(Double(finding.line)), "startColumn": .number(Double(finding.column))]),
                    ]),
                ])]),
                "partialFingerprints": .object(["sigilFingerprint/v1": .string(finding.fingerprint)]),
                "properties": .object(properties),
            ])
        }
        let run: JSONValue = .object([
            "tool": .object(["driver": driver]),
            "columnKind": .string("unicodeCodePoints"),
            "results": .array(results),
            "invocations": .array([.object([
                "executionSuccessful": .bool(!incomplete),
                "toolExecutionNotifications": .array(problems.map { problem in
                    .object([
                        "level": .string("warning"),
                        "message": .object(["text": .string(problem.message)]),
                        "locations": .array([.object(["physicalLocation": .object(["artifactLocation": .object(["uri": .string(Self.uri(problem.path))])])])]),
                    ])
                }),
            ])]),
        ])
        return JSONValue.object([
            "$schema": .string("https://json.schemastore.org/sarif-2.1.0.json"),
            "version": .string("2.1.0"),
            "runs": .array([run]),
        ]).serialized()
    }

    /// A relative URI reference for a path: each component percent-encoded.
    static func uri(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ":;?#[]@")
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }
            .joined(separator: "/")
    }

    static func pascalCase(_ id: String) -> String {
        id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    // MARK: Text

    /// Human text: findings grouped by file, one self-contained `file:line:column rule value`
    /// line each, values redacted; ANSI colour when `colour` is set.
    public func text(colour: Bool) -> String {
        func paint(_ code: String, _ text: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var lines: [String] = []
        var currentFile: String?
        for finding in sortedFindings {
            if finding.file != currentFile {
                if currentFile != nil { lines.append("") }
                lines.append(paint("1", finding.file))
                currentFile = finding.file
            }
            var line = "  \(finding.file):\(finding.line):\(finding.column)  \(paint("31", finding.rule.id))  \(finding.redacted)"
            if finding.rule.severity == .low { line += "  (low severity)" }
            if finding.validity != .unknown { line += "  validity: \(finding.validity.rawValue)" }
            lines.append(line)
            if let commit = finding.commit {
                lines.append("    commit \(commit.id.prefix(12)) by \(commit.author) <\(commit.email)> on \(commit.date)")
            }
        }
        if !lines.isEmpty { lines.append("") }
        let files = Set(findings.map(\.file)).count
        var summary = findings.isEmpty ? "No secrets found" : "\(findings.count) \(findings.count == 1 ? "secret" : "secrets") found in \(files) \(files == 1 ? "file" : "files")"
        summary += " (\(scannedObjects) scanned, \(Self.megabytes(scannedBytes)))"
        if suppressed > 0 { summary += "; \(suppressed) suppressed by the baseline" }
        lines.append(summary + ".")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The problems, one `warning: PATH: MESSAGE` line each, for standard error whatever the format.
    public var warnings: String {
        problems.map { "warning: \($0.path): \($0.message)\n" }.joined()
    }

    /// A size in binary units, as `--max-file-size` takes them (10M is 10 MiB).
    public static func megabytes(_ bytes: Int) -> String {
        if bytes >= 1 << 30 { return String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) }
        return String(format: "%.1f KiB", Double(bytes) / 1024)
    }
}
