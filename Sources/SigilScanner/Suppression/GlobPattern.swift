/// One line of a `.gitignore` (or of the scanner configuration's path allowlist), with git's
/// meaning: `*` and `?` never cross `/`, `**` does, `[…]` is a class, a leading `/` or an inner
/// `/` anchors the pattern to its base folder, a trailing `/` matches folders only and `!`
/// re-includes.
public struct GlobPattern: Sendable, Equatable {
    public let negated: Bool
    public let directoryOnly: Bool
    let anchored: Bool
    let pattern: [UInt8]

    /// Nil for blank lines and comments.
    public init?(line: String) {
        var text = Substring(line)
        while text.last == "\r" || (text.last == " " && !text.hasSuffix("\\ ")) { text.removeLast() }
        guard !text.isEmpty, !text.hasPrefix("#") else { return nil }
        negated = text.hasPrefix("!")
        if negated { text.removeFirst() }
        if text.hasPrefix("\\") { text.removeFirst() }
        directoryOnly = text.hasSuffix("/")
        if directoryOnly { text.removeLast() }
        anchored = text.contains("/")
        if text.hasPrefix("/") { text.removeFirst() }
        guard !text.isEmpty else { return nil }
        pattern = Array(text.utf8)
    }

    /// Whether `path` (relative to the pattern's base folder, `/`-separated) matches.
    public func matches(_ path: String, isDirectory: Bool) -> Bool {
        if directoryOnly && !isDirectory { return false }
        let bytes = Array(path.utf8)
        if anchored { return Self.match(pattern[...], bytes[...]) }
        // Unanchored: matches the last component, or any trailing run of components.
        var start = 0
        while true {
            if Self.match(pattern[...], bytes[start...]) { return true }
            guard let slash = bytes[start...].firstIndex(of: UInt8(ascii: "/")) else { return false }
            start = slash + 1
        }
    }

    static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex, t = text.startIndex
        // Backtracking points for the last `*` (within a component) and `**` (across them).
        var starP = -1, starT = -1
        var globP = -1, globT = -1
        var globAtComponent = false
        while t < text.endIndex {
            if p < pattern.endIndex {
                let c = pattern[p]
                if c == UInt8(ascii: "*") {
                    if p + 1 < pattern.endIndex, pattern[p + 1] == UInt8(ascii: "*") {
                        var next = p + 2
                        globAtComponent = next < pattern.endIndex && pattern[next] == UInt8(ascii: "/")
                        if globAtComponent { next += 1 }
                        globP = next
                        globT = t
                        starP = -1
                        p = next
                        continue
                    }
                    starP = p + 1
                    starT = t
                    p += 1
                    continue
                }
                if c == UInt8(ascii: "?"), text[t] != UInt8(ascii: "/") {
                    p += 1
                    t += 1
                    continue
                }
                if c == UInt8(ascii: "["), let (matched, next) = matchClass(pattern, p, text[t]) {
                    if matched {
                        p = next
                        t += 1
                        continue
                    }
                } else if c == UInt8(ascii: "\\"), p + 1 < pattern.endIndex, pattern[p + 1] == text[t] {
                    p += 2
                    t += 1
                    continue
                } else if c == text[t], c != UInt8(ascii: "["), c != UInt8(ascii: "?") {
                    p += 1
                    t += 1
                    continue
                }
            }
            if starP >= 0, text[starT] != UInt8(ascii: "/") {
                starT += 1
                t = starT
                p = starP
                continue
            }
            if globP >= 0 {
                if globAtComponent {
                    // `**/` resumes only at the start of a later component.
                    guard let slash = text[globT...].firstIndex(of: UInt8(ascii: "/")) else { return false }
                    globT = slash + 1
                } else {
                    globT += 1
                }
                t = globT
                p = globP
                starP = -1
                continue
            }
            return false
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }

    /// Matches `[abc]`, `[a-z]`, `[!…]`; nil when the class is not closed (then `[` is literal).
    static func matchClass(_ pattern: ArraySlice<UInt8>, _ start: Int, _ byte: UInt8) -> (Bool, Int)? {
        var index = start + 1
        var negate = false
        if index < pattern.endIndex, pattern[index] == UInt8(ascii: "!") || pattern[index] == UInt8(ascii: "^") {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.endIndex {
            let c = pattern[index]
            if c == UInt8(ascii: "]"), !first { return (matched != negate && byte != UInt8(ascii: "/"), index + 1) }
            first = false
            if index + 2 < pattern.endIndex, pattern[index + 1] == UInt8(ascii: "-"), pattern[index + 2] != UInt8(ascii: "]") {
                // A reversed range (`[z-a]`) matches nothing, as in git.
                if c <= pattern[index + 2], (c...pattern[index + 2]).contains(byte) { matched = true }
                index += 3
            } else {
                if c == byte { matched = true }
                index += 1
            }
        }
        return nil
    }
}

/// An ordered list of patterns from one base folder: the last one that matches decides.
public struct GlobList: Sendable, Equatable {
    public let patterns: [GlobPattern]

    public init(lines: some Sequence<some StringProtocol>) {
        patterns = lines.compactMap { GlobPattern(line: String($0)) }
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// True (ignored), false (re-included by `!`), or nil (no pattern says).
    public func verdict(_ path: String, isDirectory: Bool) -> Bool? {
        for pattern in patterns.reversed() where pattern.matches(path, isDirectory: isDirectory) {
            return !pattern.negated
        }
        return nil
    }
}
