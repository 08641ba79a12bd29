/// A kind of credential the scanner reports, with the id every output format and baseline uses.
public struct Rule: Sendable, Hashable {
    public let id: String
    public let description: String
    /// When two findings cover the same bytes, the one with the higher precedence is kept: a
    /// format-specific rule beats a context rule, which beats a generic assignment.
    public let precedence: Int
    /// How urgent a finding is: `low` for credentials that are useless without another secret
    /// (an encrypted blob that needs its server's master key).
    public let severity: Severity

    public enum Severity: String, Sendable, Hashable {
        case high, low
    }

    public init(id: String, description: String, precedence: Int, severity: Severity = .high) {
        self.id = id
        self.description = description
        self.precedence = precedence
        self.severity = severity
    }
}

/// Where in a buffer a detector saw a credential.
public struct Detection: Sendable, Equatable {
    public let rule: Rule
    /// The credential itself.
    public let secret: Range<Int>
    /// The whole match, for the column and the line shown to the user (it may include a prefix
    /// such as a key name or the start of a connection string).
    public let match: Range<Int>

    public init(rule: Rule, secret: Range<Int>, match: Range<Int>? = nil) {
        self.rule = rule
        self.secret = secret
        self.match = match ?? secret
    }
}

/// Decides, at one keyword occurrence, whether a credential is there.
public protocol Detector: Sendable {
    /// The literal strings whose occurrences this detector looks at.
    var keywords: [Keyword] { get }
    /// Appends what it finds around `keyword` (the occurrence's byte range) to `detections`.
    func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection])
}

/// A prefilter literal.
public struct Keyword: Sendable, Hashable {
    public let bytes: [UInt8]
    public let caseSensitive: Bool

    public init(_ text: String, caseSensitive: Bool = true) {
        self.bytes = Array(text.utf8)
        self.caseSensitive = caseSensitive
    }
}

/// The bytes being scanned, with the small helpers detectors share.
public struct ScanText {
    public let bytes: UnsafeBufferPointer<UInt8>
    /// Whether the text is configuration (`.env`, YAML, INI, shell…), where a value needs no
    /// quotes. In source code an unquoted value is an expression, never a literal secret.
    public let isConfiguration: Bool
    public let format: Format
    /// In Markdown: the fenced blocks of shell, dotenv and other configuration (and untagged
    /// fences), whose text is read as configuration.
    let configurationBlocks: [Range<Int>]

    /// What kind of file the text is, as far as the rules care.
    public enum Format: Sendable, Equatable {
        case code, configuration, markdown, properties

        /// The format of a file at `path`, judged by its extension.
        public init(path: String) {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            guard let dot = name.lastIndex(of: "."), dot != name.startIndex else {
                self = .configuration
                return
            }
            let ext = name[name.index(after: dot)...].lowercased()
            switch ext {
            case "md", "markdown": self = .markdown
            case "properties": self = .properties
            default: self = ScanText.codeExtensions.contains(ext) ? .code : .configuration
            }
        }
    }

    public init(_ bytes: UnsafeBufferPointer<UInt8>, isConfiguration: Bool = true) {
        self.init(bytes, format: isConfiguration ? .configuration : .code)
    }

    public init(_ bytes: UnsafeBufferPointer<UInt8>, format: Format) {
        self.bytes = bytes
        self.format = format
        self.isConfiguration = format == .configuration || format == .properties
        self.configurationBlocks = format == .markdown ? Self.fencedConfigurationBlocks(bytes) : []
    }

    /// Whether the byte at `index` is in configuration: a configuration file, or a Markdown
    /// fence of shell or dotenv.
    public func isConfiguration(at index: Int) -> Bool {
        if isConfiguration { return true }
        for block in configurationBlocks where block.contains(index) { return true }
        return false
    }

    /// Info strings of Markdown fences whose contents are configuration rather than code. An
    /// untagged fence counts: it is most often a command or an environment file.
    static let configurationFences: Set<String> = [
        "", "sh", "bash", "shell", "zsh", "fish", "console", "terminal", "shell-session", "shellsession", "session",
        "env", "dotenv", ".env", "ini", "toml", "yaml", "yml", "properties", "conf", "cfg", "config", "text", "txt",
        "plaintext", "plain", "powershell", "ps1", "pwsh", "cmd", "bat", "batch", "dockerfile", "docker", "http", "nginx",
        "hcl", "terraform", "tf", "log",
    ]

    /// The fenced blocks (``` or ~~~) of a Markdown text whose info string is configuration.
    static func fencedConfigurationBlocks(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var blocks: [Range<Int>] = []
        var open: (start: Int, fence: UInt8, isConfiguration: Bool)?
        var lineStart = 0
        let count = bytes.count
        while lineStart < count {
            var lineEnd = lineStart
            while lineEnd < count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            var position = lineStart
            while position < lineEnd, position - lineStart < 4, bytes[position] == UInt8(ascii: " ") { position += 1 }
            let byte = position + 2 < lineEnd ? bytes[position] : 0
            if (byte == UInt8(ascii: "`") || byte == UInt8(ascii: "~")), bytes[position + 1] == byte, bytes[position + 2] == byte {
                if let current = open {
                    if current.fence == byte {
                        if current.isConfiguration { blocks.append(current.start..<lineStart) }
                        open = nil
                    }
                } else {
                    var infoStart = position + 3
                    while infoStart < lineEnd, bytes[infoStart] == byte { infoStart += 1 }
                    while infoStart < lineEnd, ASCII.isBlank(bytes[infoStart]) { infoStart += 1 }
                    var infoEnd = infoStart
                    while infoEnd < lineEnd, !ASCII.isBlank(bytes[infoEnd]), bytes[infoEnd] != UInt8(ascii: "\r"),
                          bytes[infoEnd] != UInt8(ascii: "{"), bytes[infoEnd] != UInt8(ascii: ",") { infoEnd += 1 }
                    let info = String(decoding: UnsafeBufferPointer(rebasing: bytes[infoStart..<infoEnd]), as: UTF8.self).lowercased()
                    open = (min(count, lineEnd + 1), byte, configurationFences.contains(info))
                }
            }
            lineStart = lineEnd + 1
        }
        if let current = open, current.isConfiguration { blocks.append(current.start..<count) }
        return blocks
    }

    /// File extensions of programming languages, whose unquoted values are code.
    static let codeExtensions: Set<String> = [
        "swift", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "java", "kt", "kts", "scala", "go", "rs", "c", "h",
        "cc", "cpp", "hpp", "m", "mm", "cs", "fs", "vb", "rb", "php", "pl", "pm", "lua", "dart", "r", "jl", "ex",
        "exs", "erl", "hs", "clj", "groovy", "gradle", "sql", "vue", "svelte", "zig", "nim", "cr", "d", "wat",
        // Documentation mixes snippets of every language; its unquoted values are not literals.
        "md", "markdown", "rst", "adoc",
    ]

    /// Whether a file at `path` is configuration rather than code, judged by its extension.
    public static func isConfiguration(path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return true }
        return !codeExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    @inline(__always) public var count: Int { bytes.count }
    @inline(__always) public subscript(_ index: Int) -> UInt8 { bytes[index] }

    /// The byte at `index`, or 0 outside the buffer.
    @inline(__always) public func at(_ index: Int) -> UInt8 {
        index >= 0 && index < bytes.count ? bytes[index] : 0
    }

    public func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// How far the line helpers look: detectors judge context within this distance, so a
    /// minified file's megabyte-long line costs no more than a short one.
    public static let contextLimit = 4096

    /// The start of the line holding `index`, or `contextLimit` bytes back if that is nearer.
    public func lineStart(before index: Int) -> Int {
        var position = index
        let floor = max(0, index - Self.contextLimit)
        while position > floor, bytes[position - 1] != UInt8(ascii: "\n") { position -= 1 }
        return position
    }

    /// The end of the line holding `index`, or `contextLimit` bytes on if that is nearer.
    public func lineEnd(after index: Int) -> Int {
        var position = index
        let ceiling = min(bytes.count, index + Self.contextLimit)
        while position < ceiling, bytes[position] != UInt8(ascii: "\n") { position += 1 }
        return position
    }

    /// Whether `needle` occurs in `range`, ignoring ASCII case when `needle` is lowercase.
    public func contains(_ needle: String, in range: Range<Int>, ignoringCase: Bool = true) -> Bool {
        find(needle, in: range, ignoringCase: ignoringCase) != nil
    }

    /// The first occurrence of `needle` in `range` (ASCII case ignored if asked; `needle` lowercase).
    public func find(_ needle: String, in range: Range<Int>, ignoringCase: Bool = true) -> Int? {
        // A literal's UTF-8 is contiguous: no copy on the hot paths that look for one.
        if let found = needle.utf8.withContiguousStorageIfAvailable({ find($0, in: range, ignoringCase: ignoringCase) }) { return found }
        return find(Array(needle.utf8), in: range, ignoringCase: ignoringCase)
    }

    /// The first occurrence of the bytes `pattern` in `range`, as `find(_:in:ignoringCase:)`.
    public func find(_ pattern: [UInt8], in range: Range<Int>, ignoringCase: Bool = true) -> Int? {
        pattern.withUnsafeBufferPointer { find($0, in: range, ignoringCase: ignoringCase) }
    }

    private func find(_ pattern: UnsafeBufferPointer<UInt8>, in range: Range<Int>, ignoringCase: Bool) -> Int? {
        guard !pattern.isEmpty, range.count >= pattern.count else { return nil }
        let lower = range.lowerBound, upper = min(range.upperBound, bytes.count) - pattern.count
        guard lower <= upper else { return nil }
        var start = lower
        while start <= upper {
            var offset = 0
            while offset < pattern.count {
                let byte = bytes[start + offset]
                if (ignoringCase ? ASCII.lowercase(byte) : byte) != pattern[offset] { break }
                offset += 1
            }
            if offset == pattern.count { return start }
            start += 1
        }
        return nil
    }
}

/// ASCII helpers on bytes.
public enum ASCII {
    @inline(__always) public static func lowercase(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte | 0x20 : byte
    }

    @inline(__always) public static func isAlphanumeric(_ byte: UInt8) -> Bool {
        ByteSet.alphanumeric.contains(byte)
    }

    @inline(__always) public static func isBlank(_ byte: UInt8) -> Bool {
        byte == 32 || byte == 9
    }
}
