/// A set of bytes, tested with one shift and one mask.
public struct ByteSet: Sendable, Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    /// The bytes of `characters` and of every `a-z` style range in it.
    public init(ranges characters: String) {
        let bytes = Array(characters.utf8)
        var index = 0
        while index < bytes.count {
            if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "-") {
                for byte in bytes[index]...bytes[index + 2] { insert(byte) }
                index += 3
            } else {
                insert(bytes[index])
                index += 1
            }
        }
    }

    public mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    @inline(__always)
    public func contains(_ byte: UInt8) -> Bool {
        let word: UInt64
        switch byte >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word & (UInt64(1) << UInt64(byte & 63)) != 0
    }

    public static func == (lhs: ByteSet, rhs: ByteSet) -> Bool {
        lhs.words == rhs.words
    }

    public static let alphanumeric = ByteSet(ranges: "0-9A-Za-z")
    public static let base64 = ByteSet(ranges: "0-9A-Za-z+/")
    public static let base64URL = ByteSet(ranges: "0-9A-Za-z_-")
    public static let hex = ByteSet(ranges: "0-9a-fA-F")
}

/// A token format in a small, regex-like notation, matched without backtracking.
///
/// The notation has literal characters (`\` escapes the next one), classes (`[A-Za-z0-9_-]`,
/// with `-` last or escaped to mean itself) and quantifiers `{n}`, `{m,n}`, `{m,}`, `+`, `*`, `?`.
/// Repetition is possessive: a run takes every byte of its class it can (up to its maximum) and
/// never gives any back, which is what token formats need and keeps matching linear. An open
/// repetition (`+`, `*`, `{m,}`) stops at `openRunLimit` bytes, so a long run of token-like
/// characters costs the same at every keyword occurrence in it. There is no
/// alternation: a rule lists one pattern per alternative. Built-in patterns are written by us, so
/// a malformed one is a programming error.
public struct TokenPattern: Sendable {
    enum Element: Sendable {
        case literal(UInt8)
        case run(ByteSet, min: Int, max: Int)
    }

    let elements: [Element]

    /// The most bytes an open repetition takes.
    public static let openRunLimit = 256

    public init(_ source: String) {
        var elements: [Element] = []
        let bytes = Array(source.utf8)
        var index = 0
        while index < bytes.count {
            var set = ByteSet()
            var isLiteral = false
            var literal: UInt8 = 0
            switch bytes[index] {
            case UInt8(ascii: "["):
                var end = index + 1
                while bytes[end] != UInt8(ascii: "]") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
                set = Self.parseClass(bytes[(index + 1)..<end])
                index = end + 1
            case UInt8(ascii: "\\"):
                isLiteral = true
                literal = bytes[index + 1]
                index += 2
            default:
                isLiteral = true
                literal = bytes[index]
                index += 1
            }
            var minimum = 1
            var maximum = 1
            if index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "{"):
                    let close = bytes[index...].firstIndex(of: UInt8(ascii: "}"))!
                    let body = String(decoding: bytes[(index + 1)..<close], as: UTF8.self)
                    let parts = body.split(separator: ",", omittingEmptySubsequences: false)
                    minimum = Int(parts[0])!
                    maximum = parts.count == 1 ? minimum : (parts[1].isEmpty ? Self.openRunLimit : Int(parts[1])!)
                    index = close + 1
                case UInt8(ascii: "+"): (minimum, maximum) = (1, Self.openRunLimit); index += 1
                case UInt8(ascii: "*"): (minimum, maximum) = (0, Self.openRunLimit); index += 1
                case UInt8(ascii: "?"): (minimum, maximum) = (0, 1); index += 1
                default: break
                }
            }
            if isLiteral, minimum == 1, maximum == 1 {
                elements.append(.literal(literal))
            } else {
                if isLiteral { set.insert(literal) }
                elements.append(.run(set, min: minimum, max: maximum))
            }
        }
        self.elements = elements
    }

    private static func parseClass(_ body: ArraySlice<UInt8>) -> ByteSet {
        var set = ByteSet()
        var items: [UInt8] = []
        var index = body.startIndex
        while index < body.endIndex {
            if body[index] == UInt8(ascii: "\\") {
                items.append(body[index + 1])
                index += 2
                continue
            }
            if index + 2 < body.endIndex, body[index + 1] == UInt8(ascii: "-") {
                for byte in body[index]...body[index + 2] { set.insert(byte) }
                index += 3
                continue
            }
            items.append(body[index])
            index += 1
        }
        for byte in items { set.insert(byte) }
        return set
    }

    /// The literal bytes this pattern starts with (its prefilter keyword when it has one).
    public var literalPrefix: [UInt8] {
        var prefix: [UInt8] = []
        for element in elements {
            guard case .literal(let byte) = element else { break }
            prefix.append(byte)
        }
        return prefix
    }

    /// Matches forward from `start`; returns the end offset, or nil.
    @inline(__always)
    func matchForward(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var position = start
        for element in elements {
            switch element {
            case .literal(let byte):
                guard position < bytes.count, bytes[position] == byte else { return nil }
                position += 1
            case .run(let set, let minimum, let maximum):
                var count = 0
                while count < maximum, position < bytes.count, set.contains(bytes[position]) {
                    position += 1
                    count += 1
                }
                if count < minimum { return nil }
            }
        }
        return position
    }

    /// Matches backward so that the match ends at `end`; returns the start offset, or nil.
    @inline(__always)
    func matchBackward(_ bytes: UnsafeBufferPointer<UInt8>, endingAt end: Int) -> Int? {
        var position = end
        for element in elements.reversed() {
            switch element {
            case .literal(let byte):
                guard position > 0, bytes[position - 1] == byte else { return nil }
                position -= 1
            case .run(let set, let minimum, let maximum):
                var count = 0
                while count < maximum, position > 0, set.contains(bytes[position - 1]) {
                    position -= 1
                    count += 1
                }
                if count < minimum { return nil }
            }
        }
        return position
    }
}
