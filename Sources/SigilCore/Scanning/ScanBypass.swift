import Foundation

/// Someone pushed past a secret-scan block and said why (DESIGN §7: push protection). It is kept
/// as one audit event; these are the bounds of what it may carry.
public struct ScanBypass: Sendable, Equatable {
    public struct Finding: Sendable, Equatable {
        public var rule: String
        public var file: String
        public var line: Int
        public var fingerprint: String
        public var commit: String?

        public init(rule: String, file: String, line: Int, fingerprint: String, commit: String? = nil) {
            self.rule = rule
            self.file = file
            self.line = line
            self.fingerprint = fingerprint
            self.commit = commit
        }
    }

    public static let maximumReasonLength = 512
    public static let maximumRepositoryLength = 512
    public static let maximumRefLength = 256
    public static let maximumAuthorLength = 256
    public static let maximumFindings = 1000
    /// Per finding; with 1,000 findings the whole stays under a megabyte.
    public static let fieldLimits: [String: Int] = ["rule": 128, "file": 512, "fingerprint": 128, "commit": 64]

    public var reason: String
    public var repository: String
    public var ref: String?
    /// The git identity (`Name <email>`) of whoever pushed past the block, beside the principal
    /// whose credentials recorded it.
    public var author: String?
    public var findings: [Finding]

    public init(reason: String, repository: String, ref: String?, author: String? = nil, findings: [Finding]) {
        self.reason = reason
        self.repository = repository
        self.ref = ref
        self.author = author
        self.findings = findings
    }

    /// Checks every bound; the message names the field to fix.
    public func check() throws(DirectoryRuleViolation) {
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw DirectoryRuleViolation(field: "reason", message: "reason must not be empty; say why the push may go past the scan")
        }
        guard reason.count <= Self.maximumReasonLength else {
            throw DirectoryRuleViolation(field: "reason", message: "reason is \(reason.count) characters; at most \(Self.maximumReasonLength) are allowed")
        }
        // A reason typed at a prompt may span lines; nothing else needs control characters.
        guard !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) else {
            throw DirectoryRuleViolation(field: "reason", message: "reason must not contain control characters other than line feeds and tabs")
        }
        try Self.checkText(repository, field: "repository", maximum: Self.maximumRepositoryLength)
        if let ref { try Self.checkText(ref, field: "ref", maximum: Self.maximumRefLength) }
        if let author { try Self.checkText(author, field: "author", maximum: Self.maximumAuthorLength) }
        guard !findings.isEmpty else {
            throw DirectoryRuleViolation(field: "findings", message: "findings is empty; give at least one finding the push goes past")
        }
        guard findings.count <= Self.maximumFindings else {
            throw DirectoryRuleViolation(field: "findings", message: "findings holds \(findings.count) entries; at most \(Self.maximumFindings) are allowed")
        }
        for (index, finding) in findings.enumerated() {
            guard finding.line >= 1 else {
                throw DirectoryRuleViolation(field: "findings", message: "findings[\(index)].line must be a whole number from 1")
            }
            let texts = [("rule", finding.rule), ("file", finding.file), ("fingerprint", finding.fingerprint)] + (finding.commit.map { [("commit", $0)] } ?? [])
            for (name, value) in texts {
                try Self.checkText(value, field: "findings", name: "findings[\(index)].\(name)", maximum: Self.fieldLimits[name]!)
            }
        }
    }

    static func checkText(_ value: String, field: String, name: String? = nil, maximum: Int) throws(DirectoryRuleViolation) {
        let name = name ?? field
        guard !value.isEmpty, value.count <= maximum, !value.containsControlCharacters else {
            throw DirectoryRuleViolation(field: field, message: "\(name) must be 1–\(maximum) characters without control characters")
        }
    }
}
