/// Where scanned bytes came from: a file, a blob in history, a patch's added lines, stdin.
public struct ScanSource: Sendable {
    public let path: String
    public let commit: CommitInfo?
    /// For text that is not a whole file (a patch's added lines): the file line number of each
    /// line of the text. Nil means the text starts at line 1.
    public let lineNumbers: [Int]?
    /// For a piece of a larger file: the line and column of its first byte.
    public let firstLine: Int
    public let firstColumn: Int

    public init(path: String, commit: CommitInfo? = nil, lineNumbers: [Int]? = nil, firstLine: Int = 1, firstColumn: Int = 1) {
        self.path = path
        self.commit = commit
        self.lineNumbers = lineNumbers
        self.firstLine = firstLine
        self.firstColumn = firstColumn
    }
}

/// Turns bytes into findings: the engine's detections, minus what `sigil:allow` comments and the
/// configuration allow, with line, column, fingerprint and redaction.
public struct SecretScanner: Sendable {
    public let engine: ScanEngine
    public let configuration: ScanConfiguration

    /// A line containing this marker is never reported.
    public static let allowMarker = "sigil:allow"

    public init(configuration: ScanConfiguration = ScanConfiguration()) {
        self.configuration = configuration
        // A detector goes when it reports one rule and that rule is off; detectors that report
        // several rules stay, and their disabled rules are dropped from what they find.
        self.engine = ScanEngine(detectors: BuiltinRules.detectors.filter { detector in
            guard let only = Self.onlyRule(of: detector) else { return true }
            return !configuration.disabledRules.contains(only)
        } + configuration.customRules)
    }

    /// The one rule a detector reports, when it reports only one.
    private static func onlyRule(of detector: any Detector) -> String? {
        (detector as? TokenDetector)?.rule.id ?? (detector as? CustomRuleDetector)?.rule.id
    }

    /// Whether the configuration skips this path altogether.
    public func isAllowed(path: String) -> Bool {
        configuration.isPathAllowed(path)
    }

    /// Files of cryptographic test vectors (`hpke-test-vectors.json`, `vectors/…`).
    static func isTestVectorFile(_ path: String) -> Bool {
        path.lowercased().contains("vector")
    }

    /// The findings in `bytes`; with `reportingBefore`, only those whose match starts before that
    /// offset (the rest belong to the next piece of a file read in pieces).
    public func findings(in bytes: UnsafeBufferPointer<UInt8>, source: ScanSource, reportingBefore limit: Int? = nil) -> [Finding] {
        let detections = engine.detections(in: bytes, format: ScanText.Format(path: source.path))
        guard !detections.isEmpty else { return [] }
        let text = ScanText(bytes)
        let isTestVectors = Self.isTestVectorFile(source.path)
        var findings: [Finding] = []
        // One forward walk gives every detection its line and column.
        var line = source.firstLine
        var column = source.firstColumn
        var cursor = 0
        for detection in detections.sorted(by: { $0.match.lowerBound < $1.match.lowerBound }) {
            let start = detection.match.lowerBound
            if let limit, start >= limit { break }
            while cursor < start {
                let byte = bytes[cursor]
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1
                }
                cursor += 1
            }
            // Cryptographic test vectors are secrets by design, not credentials.
            if isTestVectors, detection.rule.precedence == BuiltinRules.genericSecret.precedence { continue }
            let context = text.lineStart(before: start)..<text.lineEnd(after: detection.secret.upperBound)
            if text.contains(Self.allowMarker, in: context, ignoringCase: false) { continue }
            let secret = text.string(detection.secret)
            if configuration.isValueAllowed(secret) || configuration.disabledRules.contains(detection.rule.id) { continue }
            let fileLine = source.lineNumbers.map { $0.indices.contains(line - 1) ? $0[line - 1] : line } ?? line
            findings.append(Finding(rule: detection.rule, file: source.path, line: fileLine, column: column, commit: source.commit, secret: secret))
        }
        return findings
    }
}
