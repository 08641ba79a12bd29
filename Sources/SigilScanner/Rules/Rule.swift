/// A kind of credential the scanner reports, with the id every output format and baseline uses.
public struct Rule: Sendable, Hashable {
    public let id: String
    public let description: String
    /// When two findings cover the same bytes, the one with the higher precedence is kept: a
    /// format-specific rule beats a context rule, which beats a generic assignment.
    public let precedence: Int

    public init(id: String, description: String, precedence: Int) {
        self.id = id
        self.description = description
        self.precedence = precedence
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

    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
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

    public func lineStart(before index: Int) -> Int {
        var position = index
        while position > 0, bytes[position - 1] != UInt8(ascii: "\n") { position -= 1 }
        return position
    }

    public func lineEnd(after index: Int) -> Int {
        var position = index
        while position < bytes.count, bytes[position] != UInt8(ascii: "\n") { position += 1 }
        return position
    }

    /// Whether `needle` occurs in `range`, ignoring ASCII case when `needle` is lowercase.
    public func contains(_ needle: String, in range: Range<Int>, ignoringCase: Bool = true) -> Bool {
        find(needle, in: range, ignoringCase: ignoringCase) != nil
    }

    /// The first occurrence of `needle` in `range` (ASCII case ignored if asked; `needle` lowercase).
    public func find(_ needle: String, in range: Range<Int>, ignoringCase: Bool = true) -> Int? {
        let pattern = Array(needle.utf8)
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
