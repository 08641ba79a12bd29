/// Where scanned bytes came from: a file, a blob in history, a patch's added lines, stdin.
public struct ScanSource: Sendable {
    public let path: String
    public let commit: CommitInfo?
    /// For text that is not a whole file (a patch's added lines): the file line number of each
    /// line of the text. Nil means the text starts at line 1.
    public let lineNumbers: [Int]?

    public init(path: String, commit: CommitInfo? = nil, lineNumbers: [Int]? = nil) {
        self.path = path
        self.commit = commit
        self.lineNumbers = lineNumbers
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
        self.engine = ScanEngine(detectors: BuiltinRules.detectors.filter { detector in
            !configuration.disabledRules.isEmpty ? !Self.rules(of: detector).allSatisfy(configuration.disabledRules.contains) : true
        } + configuration.customRules)
    }

    private static func rules(of detector: any Detector) -> [String] {
        if let token = detector as? TokenDetector { return [token.rule.id] }
        if let custom = detector as? CustomRuleDetector { return [custom.rule.id] }
        return []
    }

    /// Whether the configuration skips this path altogether.
    public func isAllowed(path: String) -> Bool {
        configuration.isPathAllowed(path)
    }

    /// Files of cryptographic test vectors (`hpke-test-vectors.json`, `vectors/…`).
    static func isTestVectorFile(_ path: String) -> Bool {
        path.lowercased().contains("vector")
    }

    public func findings(in bytes: UnsafeBufferPointer<UInt8>, source: ScanSource) -> [Finding] {
        let detections = engine.detections(in: bytes, isConfiguration: ScanText.isConfiguration(path: source.path))
        guard !detections.isEmpty else { return [] }
        let text = ScanText(bytes)
        let isTestVectors = Self.isTestVectorFile(source.path)
        var findings: [Finding] = []
        // One forward walk gives every detection its line and column.
        var line = 1
        var column = 1
        var cursor = 0
        for detection in detections.sorted(by: { $0.match.lowerBound < $1.match.lowerBound }) {
            let start = detection.match.lowerBound
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
