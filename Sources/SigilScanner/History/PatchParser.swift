/// The lines a commit (or the index) adds to one file, ready to scan.
public struct FileAdditions: Sendable {
    public let path: String
    public let commit: CommitInfo?
    /// The added lines, each followed by `\n`.
    public let text: [UInt8]
    /// The file line number of each added line.
    public let lineNumbers: [Int]
}

/// Reads the output of `git log -p --cc -U0 --format=<PatchParser.commitFormat>` (or of
/// `git diff -p -U0`) as it streams, and hands over each file's added lines. Removed and context
/// lines are not secrets anyone adds; binary diffs have no lines.
///
/// Memory stays bounded: a file's additions are handed over in pieces of at most
/// `flushThreshold` bytes (cut at a line end, so a key block is split only when it is larger).
public struct PatchParser {
    /// The `--format` that starts each commit: a NUL-led line with hash, author, email, date.
    public static let commitFormat = "%x00%H%x00%an%x00%ae%x00%aI"
    public static let flushThreshold = 8 << 20

    private var pending: [UInt8] = []
    private var commit: CommitInfo?
    private var path: String?
    private var text: [UInt8] = []
    private var lineNumbers: [Int] = []
    private var nextLine = 0
    private var inHunk = false
    /// Prefix columns of the current hunk's lines: 1, or one per parent in a merge's combined diff.
    private var columns = 1
    /// Bytes read, for throughput figures.
    public private(set) var bytesRead = 0

    public init() {}

    /// Feeds the next piece of output; `emit` gets every completed file.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (FileAdditions) -> Void) {
        bytesRead += chunk.count
        let bytes = chunk.bindMemory(to: UInt8.self)
        var lineStart = 0
        if !pending.isEmpty {
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
                pending.append(contentsOf: bytes)
                return
            }
            pending.append(contentsOf: bytes[0..<newline])
            let line = pending
            pending = []
            line.withUnsafeBufferPointer { handle(line: $0, emit: emit) }
            lineStart = newline + 1
        }
        while lineStart < bytes.count {
            guard let newline = UnsafeBufferPointer(rebasing: bytes[lineStart...]).firstIndex(of: UInt8(ascii: "\n")) else {
                pending.append(contentsOf: bytes[lineStart...])
                return
            }
            let end = lineStart + newline
            handle(line: UnsafeBufferPointer(rebasing: bytes[lineStart..<end]), emit: emit)
            lineStart = end + 1
        }
    }

    /// Ends the stream: hands over the last file.
    public mutating func finish(emit: (FileAdditions) -> Void) {
        if !pending.isEmpty {
            let line = pending
            pending = []
            line.withUnsafeBufferPointer { handle(line: $0, emit: emit) }
        }
        flush(emit: emit)
    }

    private mutating func handle(line: UnsafeBufferPointer<UInt8>, emit: (FileAdditions) -> Void) {
        guard let first = line.first else { return }
        if inHunk {
            if columns > 1 {
                if handleCombined(line: line, emit: emit) { return }
            } else {
                switch first {
                case UInt8(ascii: "+"):
                    add(UnsafeBufferPointer(rebasing: line[1...]), emit: emit)
                    return
                case UInt8(ascii: " "):
                    nextLine += 1
                    return
                case UInt8(ascii: "-"), UInt8(ascii: "\\"):
                    return
                default:
                    break
                }
            }
            inHunk = false
        }
        if first == 0 {
            flush(emit: emit)
            let fields = line.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            if fields.count >= 5 {
                commit = CommitInfo(id: fields[1], author: fields[2], email: fields[3], date: fields[4])
            }
            path = nil
            return
        }
        if first == UInt8(ascii: "d"), line.starts(with: "diff ".utf8) {
            flush(emit: emit)
            path = nil
            return
        }
        if first == UInt8(ascii: "+"), line.starts(with: "+++ ".utf8) {
            var target = String(decoding: line[4...], as: UTF8.self)
            // Git ends a name that has a space with a tab.
            if target.hasSuffix("\t") { target.removeLast() }
            path = target == "/dev/null" ? nil : Self.stripPrefix(Self.unquote(target))
            return
        }
        if first == UInt8(ascii: "@"), line.starts(with: "@@".utf8) {
            // `@@ -a +c @@`, or `@@@ -a -b +c @@@` for a merge with two parents.
            let marker = line.prefix { $0 == UInt8(ascii: "@") }.count
            columns = max(1, marker - 1)
            nextLine = Self.newStart(String(decoding: line, as: UTF8.self)) ?? 1
            inHunk = path != nil
        }
    }

    private mutating func add(_ content: UnsafeBufferPointer<UInt8>, emit: (FileAdditions) -> Void) {
        text.append(contentsOf: content)
        text.append(UInt8(ascii: "\n"))
        lineNumbers.append(nextLine)
        nextLine += 1
        if text.count >= Self.flushThreshold { flush(emit: emit) }
    }

    /// A line of a merge's combined diff (`git log --cc`): one prefix column per parent. A line
    /// with `+` in every column is new against every parent, so the merge itself added it; other
    /// lines of the result came from a parent and were scanned in the commit that added them.
    /// Returns false when the line ends the hunk.
    private mutating func handleCombined(line: UnsafeBufferPointer<UInt8>, emit: (FileAdditions) -> Void) -> Bool {
        guard line.count >= columns else { return false }
        let prefix = line[0..<columns]
        guard prefix.allSatisfy({ $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: " ") }) else { return false }
        if prefix.contains(UInt8(ascii: "-")) { return true }
        if prefix.allSatisfy({ $0 == UInt8(ascii: "+") }) {
            add(UnsafeBufferPointer(rebasing: line[columns...]), emit: emit)
        } else {
            nextLine += 1
        }
        return true
    }

    private mutating func flush(emit: (FileAdditions) -> Void) {
        if let path, !text.isEmpty {
            emit(FileAdditions(path: path, commit: commit, text: text, lineNumbers: lineNumbers))
        }
        text = []
        lineNumbers = []
    }

    /// `@@ -a,b +c,d @@` → c (also for `@@@ -a -b +c @@@`).
    static func newStart(_ header: String) -> Int? {
        guard let plus = header.split(separator: " ").first(where: { $0.hasPrefix("+") }) else { return nil }
        return Int(plus.dropFirst().split(separator: ",").first ?? "")
    }

    static func stripPrefix(_ path: String) -> String {
        path.hasPrefix("b/") ? String(path.dropFirst(2)) : path
    }

    /// Git writes unusual paths as C strings: `"b/caf\303\251 \"x\".txt"`.
    static func unquote(_ path: String) -> String {
        guard path.hasPrefix("\""), path.hasSuffix("\""), path.count >= 2 else { return path }
        let body = Array(path.utf8.dropFirst().dropLast())
        var output: [UInt8] = []
        var index = 0
        while index < body.count {
            let byte = body[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < body.count else {
                output.append(byte)
                index += 1
                continue
            }
            let next = body[index + 1]
            switch next {
            case UInt8(ascii: "n"): output.append(10); index += 2
            case UInt8(ascii: "t"): output.append(9); index += 2
            case UInt8(ascii: "0")...UInt8(ascii: "7") where index + 3 < body.count:
                let digits = body[(index + 1)...(index + 3)]
                output.append(UInt8(digits.reduce(0) { $0 * 8 + Int($1 - 48) } & 0xFF))
                index += 4
            default: output.append(next); index += 2
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
