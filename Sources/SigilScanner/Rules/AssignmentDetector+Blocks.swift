/// Names and values on different lines: a value that a name governs from the header of its
/// block, from a sibling key of the same item, or as the next item of a list, within a small
/// window below the name (docs/scanner-rules.md, "Secrets in context").
extension AssignmentDetector {
    /// A value found below its name: where it is, whether it was quoted and, for a child with a
    /// name of its own, that name's words.
    typealias SplitValue = (value: Range<Int>, quoted: Bool, words: [String]?)

    static func single(_ found: (Range<Int>, Bool)?) -> [SplitValue] {
        guard let found else { return [] }
        return [(found.0, found.1, nil)]
    }

    /// How far below its name a value is looked for.
    static let blockWindowLines = 12
    static let blockWindowBytes = 4096

    /// Keys whose value is the value of the block or item they are in (`value:`, `default =`).
    static let valueKeys: Set<String> = [
        "value", "default", "defaultvalue", "default_value", "plain", "plaintext", "plain_text", "parametervalue", "parameter_value",
    ]

    /// Keys whose value names the item they are in (`- name: DB_PASSWORD`).
    static let labelKeys: Set<String> = ["name", "key", "parameterkey", "parameter_key", "variable", "envvar", "env_var"]

    /// Last words of a block whose every child is a credential (`passwords:`, `api_keys:`).
    static let collectionWords: Set<String> = ["secrets", "passwords", "passwds", "credentials", "tokens", "keys", "apikeys"]

    /// Words that make a child of such a block something other than a credential.
    static let identityWords: Set<String> = [
        "user", "username", "login", "email", "account", "host", "hostname", "port", "region", "database", "db",
        "server", "project", "tenant", "org", "organization", "domain", "realm", "scheme", "owner", "file",
        "external", "driver", "enabled", "description",
    ]

    /// The values on later lines that the name at `name` governs, each with whether it was
    /// quoted and, for a child with a name of its own, that name's words.
    func splitValues(of name: Range<Int>, in text: ScanText) -> [SplitValue] {
        let before = text.at(name.lowerBound - 1)
        let quote: UInt8 = before == UInt8(ascii: "\"") || before == UInt8(ascii: "'") ? before : 0
        var position = name.upperBound
        if quote != 0 {
            guard text.at(position) == quote else { return [] }
            position += 1
        }
        while ASCII.isBlank(text.at(position)) { position += 1 }
        let next = text.at(position)
        // Computed only where a value can follow (most names in code end in an expression).
        var indent: Int { Self.indentation(at: text.lineStart(before: name.lowerBound), in: text) }
        switch next {
        case UInt8(ascii: ":"):
            // A YAML key with nothing after it: its block's children.
            var cursor = position + 1
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            let after = text.at(cursor)
            if Self.isLineEnd(after) || (after == UInt8(ascii: "#") && cursor > position + 1) {
                return blockChildren(of: name, indent: indent, after: text.lineEnd(after: cursor), in: text)
            }
            // `"vmAdminPassword": {` (an ARM parameter, a JSON object of its own): its children.
            if after == UInt8(ascii: "{"), quote != 0, Self.isLineEnd(text.at(cursor + 1 + Self.blanks(after: cursor + 1, in: text))) {
                return blockChildren(of: name, indent: indent, after: text.lineEnd(after: cursor), in: text)
            }
            // `password: |` / `>-`: a block scalar of one line.
            if after == UInt8(ascii: "|") || after == UInt8(ascii: ">") {
                return Self.single(blockScalar(indent: indent, header: cursor + 1, in: text).map { ($0, true) })
            }
            return []
        case UInt8(ascii: "{"):
            // `variable "db_password" {`, `password {`: an HCL block.
            var cursor = position + 1
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            guard Self.isLineEnd(text.at(cursor)) else { return [] }
            return hclBlock(indent: indent, after: text.lineEnd(after: cursor), in: text)
        case UInt8(ascii: "="):
            // `db_password = <<EOT`: a heredoc of one line.
            var cursor = position + 1
            while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
            guard text.at(cursor) == UInt8(ascii: "<"), text.at(cursor + 1) == UInt8(ascii: "<") else { return [] }
            return Self.single(heredoc(from: cursor + 2, in: text).map { ($0, true) })
        case UInt8(ascii: "<"):
            // `<key>ApiToken</key>` and `<string>…</string>` below it (a property list).
            return Self.single(plistString(afterKey: name, in: text))
        default:
            guard Self.isLineEnd(next) || (next == UInt8(ascii: ",") && Self.isLineEnd(text.at(position + 1 + Self.blanks(after: position + 1, in: text))))
            else { return [] }
            let nameStart = name.lowerBound - (quote != 0 ? 1 : 0)
            if text.at(nameStart - 1) == UInt8(ascii: "-") {
                return Self.single(nextListItem(flagAt: nameStart, indent: indent, in: text))
            }
            return Self.single(siblingValue(nameStart: nameStart, lineStart: text.lineStart(before: name.lowerBound), in: text))
        }
    }

    // MARK: Blocks

    /// The children of a YAML block key: a `value:`/`default:` child, or, under a collection of
    /// credentials (`passwords:`), every child that names one.
    private func blockChildren(of name: Range<Int>, indent: Int, after lineEnd: Int, in text: ScanText) -> [SplitValue] {
        let words = Self.words(of: text.string(name))
        let isCollection = Self.collectionWords.contains(words.last ?? "")
        var results: [SplitValue] = []
        var childIndent: Int?
        var start = lineEnd + 1
        var lines = 0
        while start < text.count, lines < Self.blockWindowLines, start - lineEnd < Self.blockWindowBytes {
            let end = text.lineEnd(after: start)
            defer { start = end + 1; lines += 1 }
            let ind = Self.indentation(at: start, in: text)
            let content = start + ind
            if content >= end || text[content] == UInt8(ascii: "#") || text[content] == UInt8(ascii: "\r") { continue }
            // `partnerApiKeys:` and its items, `- <key>` (indented, or level with the key).
            if isCollection, text[content] == UInt8(ascii: "-"), ASCII.isBlank(text.at(content + 1)),
               ind > indent || (ind == indent && (childIndent ?? ind) == ind) {
                childIndent = ind
                if let item = listItemScalar(at: content + 2, end: end, in: text) { results.append((item.0, item.1, nil)) }
                continue
            }
            if ind <= indent { break }
            if childIndent == nil {
                childIndent = ind
                // `api_key:` and, indented below, a plain scalar alone: the key's value.
                if Self.key(at: content, in: text) == nil, text[content] != UInt8(ascii: "-"),
                   let scalar = plainScalar(from: content, end: end, indent: indent, in: text) {
                    return [(scalar, false, nil)]
                }
            }
            guard ind == childIndent, let (key, valueStart) = Self.key(at: content, in: text) else { continue }
            let keyString = text.string(key)
            if Self.valueKeys.contains(keyString.lowercased()) {
                if let (range, quoted) = valueOrValueBelow(from: valueStart, keyIndent: ind, in: text) { results.append((range, quoted, nil)) }
                break
            }
            guard isCollection else { continue }
            let childWords = Self.words(of: keyString)
            guard let last = childWords.last, !Self.refusedLastWords.contains(last),
                  !childWords.contains(where: { Self.refusedWords.contains($0) || Self.identityWords.contains($0) }),
                  let (range, quoted) = value(in: text, from: valueStart, bareAllowed: true)
            else { continue }
            results.append((range, quoted, childWords))
        }
        return results
    }

    /// A plain scalar continued on the line below its key: one word from `start` to the line's
    /// end, and nothing more in the block.
    private func plainScalar(from start: Int, end: Int, indent: Int, in text: ScanText) -> Range<Int>? {
        var last = end
        while last > start, text[last - 1] == UInt8(ascii: "\r") || ASCII.isBlank(text[last - 1]) { last -= 1 }
        guard last > start, !(start..<last).contains(where: { ASCII.isBlank(text[$0]) || text[$0] == UInt8(ascii: "#") }) else { return nil }
        if let (following, _) = nextContentLine(after: end, in: text), Self.indentation(at: following.lowerBound, in: text) > indent { return nil }
        return start..<last
    }

    /// A block scalar (`|`, `>-`, `|+2` at `header`) holding exactly one line: that line.
    private func blockScalar(indent: Int, header: Int, in text: ScanText) -> Range<Int>? {
        var cursor = header
        while "-+0123456789".utf8.contains(text.at(cursor)) { cursor += 1 }
        while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
        guard Self.isLineEnd(text.at(cursor)) else { return nil }
        guard let (line, end) = nextContentLine(after: text.lineEnd(after: cursor), in: text),
              Self.indentation(at: line.lowerBound, in: text) > indent
        else { return nil }
        // The block ends after that line.
        if let (following, _) = nextContentLine(after: end, in: text), Self.indentation(at: following.lowerBound, in: text) > indent { return nil }
        let start = line.lowerBound + Self.indentation(at: line.lowerBound, in: text)
        return start < line.upperBound ? start..<line.upperBound : nil
    }

    /// An HCL block's `default = "…"` or `value = "…"`, before its closing brace.
    private func hclBlock(indent: Int, after lineEnd: Int, in text: ScanText) -> [SplitValue] {
        var start = lineEnd + 1
        var lines = 0
        while start < text.count, lines < 2 * Self.blockWindowLines, start - lineEnd < Self.blockWindowBytes {
            let end = text.lineEnd(after: start)
            defer { start = end + 1; lines += 1 }
            let ind = Self.indentation(at: start, in: text)
            let content = start + ind
            if content >= end { continue }
            if text[content] == UInt8(ascii: "}") { break }
            guard let (key, valueStart) = Self.key(at: content, in: text, operators: "="),
                  ["default", "value"].contains(text.string(key).lowercased())
            else { continue }
            if text.at(valueStart) == UInt8(ascii: "<"), text.at(valueStart + 1) == UInt8(ascii: "<") {
                return Self.single(heredoc(from: valueStart + 2, in: text).map { ($0, true) })
            }
            return Self.single(value(in: text, from: valueStart, bareAllowed: false))
        }
        return []
    }

    /// After `<<` at `start`: `EOT` or `-EOT`, a single line, then `EOT` again: that line.
    private func heredoc(from start: Int, in text: ScanText) -> Range<Int>? {
        var cursor = start
        if text.at(cursor) == UInt8(ascii: "-") || text.at(cursor) == UInt8(ascii: "~") { cursor += 1 }
        let markerStart = cursor
        while ASCII.isAlphanumeric(text.at(cursor)) || text.at(cursor) == UInt8(ascii: "_") { cursor += 1 }
        guard cursor > markerStart, Self.isLineEnd(text.at(cursor)) || text.at(cursor) == UInt8(ascii: "\r") else { return nil }
        let marker = text.string(markerStart..<cursor)
        guard let (line, end) = nextContentLine(after: text.lineEnd(after: cursor), in: text),
              let (closing, _) = nextContentLine(after: end, in: text),
              text.string(closing).trimmingBlanks == marker
        else { return nil }
        let content = line.lowerBound + Self.indentation(at: line.lowerBound, in: text)
        return content < line.upperBound ? content..<line.upperBound : nil
    }

    // MARK: Items

    /// `- name: DB_PASSWORD` (the name is the value of a label key) followed within the item by
    /// `value: …`; also `"name": "X",` in JSON and `ParameterKey:` / `ParameterValue:`.
    private func siblingValue(nameStart: Int, lineStart: Int, in text: ScanText) -> (Range<Int>, Bool)? {
        var cursor = nameStart
        while cursor > lineStart, ASCII.isBlank(text[cursor - 1]) { cursor -= 1 }
        guard cursor > lineStart, text[cursor - 1] == UInt8(ascii: ":") || text[cursor - 1] == UInt8(ascii: "=") else { return nil }
        cursor -= 1
        while cursor > lineStart, ASCII.isBlank(text[cursor - 1]) { cursor -= 1 }
        let keyQuote = text.at(cursor - 1)
        let quoted = keyQuote == UInt8(ascii: "\"") || keyQuote == UInt8(ascii: "'")
        if quoted { cursor -= 1 }
        let keyEnd = cursor
        while cursor > lineStart, Self.nameBytes.contains(text[cursor - 1]) { cursor -= 1 }
        guard keyEnd > cursor, Self.labelKeys.contains(text.string(cursor..<keyEnd).lowercased()) else { return nil }
        let keyColumn = (quoted ? cursor - 1 : cursor) - lineStart
        var start = text.lineEnd(after: nameStart) + 1
        let windowStart = start
        var lines = 0
        while start < text.count, lines < 6, start - windowStart < Self.blockWindowBytes {
            let end = text.lineEnd(after: start)
            defer { start = end + 1; lines += 1 }
            let ind = Self.indentation(at: start, in: text)
            let content = start + ind
            if content >= end || text[content] == UInt8(ascii: "#") || text[content] == UInt8(ascii: "\r") { continue }
            if ind < keyColumn || text[content] == UInt8(ascii: "}") { break }
            guard ind == keyColumn, let (key, valueStart) = Self.key(at: content, in: text, operators: ":=") else { continue }
            let keyString = text.string(key).lowercased()
            if keyString.hasPrefix("valuefrom") || keyString.hasPrefix("value_from") || Self.labelKeys.contains(keyString) { break }
            guard Self.valueKeys.contains(keyString) else { continue }
            return valueOrValueBelow(from: valueStart, keyIndent: ind, in: text)
        }
        return valueBefore(nameLine: lineStart, keyColumn: keyColumn, in: text)
    }

    /// The item's `value:` on the lines above its label (`- value: "…"` then `name: DB_PASSWORD`,
    /// or `"value"` before `"name"` in a JSON object), up to the item's start.
    private func valueBefore(nameLine: Int, keyColumn: Int, in text: ScanText) -> (Range<Int>, Bool)? {
        var lineStart = nameLine
        var lines = 0
        while lineStart > 0, lines < 6 {
            lineStart = text.lineStart(before: lineStart - 1)
            lines += 1
            let end = text.lineEnd(after: lineStart)
            var content = lineStart + Self.indentation(at: lineStart, in: text)
            if content >= end || text[content] == UInt8(ascii: "#") || text[content] == UInt8(ascii: "\r") { continue }
            // `- value: …` starts the item: its key is level with the label's.
            let startsItem = text[content] == UInt8(ascii: "-") && ASCII.isBlank(text.at(content + 1))
            if startsItem { content += 1 + Self.blanks(after: content + 1, in: text) }
            guard content - lineStart == keyColumn, let (key, valueStart) = Self.key(at: content, in: text, operators: ":=") else { return nil }
            let keyString = text.string(key).lowercased()
            if Self.valueKeys.contains(keyString) {
                return valueOrValueBelow(from: valueStart, keyIndent: content - lineStart, in: text)
            }
            if startsItem || Self.labelKeys.contains(keyString) || keyString.hasPrefix("valuefrom") || keyString.hasPrefix("value_from") { return nil }
        }
        return nil
    }

    /// The value at `start` after a key, or, when the key ends its line, the one value alone on
    /// the next line, indented further (`value:` / `"value":` and the value below).
    private func valueOrValueBelow(from start: Int, keyIndent: Int, in text: ScanText) -> (Range<Int>, Bool)? {
        guard Self.isLineEnd(text.at(start)) else { return value(in: text, from: start, bareAllowed: true) }
        guard let (line, _) = nextContentLine(after: text.lineEnd(after: start), in: text),
              Self.indentation(at: line.lowerBound, in: text) > keyIndent
        else { return nil }
        return listItemScalar(at: line.lowerBound, end: line.upperBound, in: text)
    }

    /// The one value from `start` (blanks skipped) to the end of the line at `end`, quoted or
    /// not, with nothing after it but a comma or a comment: a list item's or a line's value.
    private func listItemScalar(at start: Int, end: Int, in text: ScanText) -> (Range<Int>, Bool)? {
        let from = start + Self.blanks(after: start, in: text)
        guard Self.key(at: from, in: text) == nil, let (range, quoted) = value(in: text, from: from, bareAllowed: true) else { return nil }
        var after = range.upperBound + (quoted ? 1 : 0)
        if text.at(after) == UInt8(ascii: ",") { after += 1 }
        after += Self.blanks(after: after, in: text)
        guard after >= end || Self.isLineEnd(text[after]) || text[after] == UInt8(ascii: "#") else { return nil }
        return (range, quoted)
    }

    /// After `<key>Name</key>`: the text of the `<string>` element that follows, on the same line
    /// or below, trimmed.
    private func plistString(afterKey name: Range<Int>, in text: ScanText) -> (Range<Int>, Bool)? {
        guard name.lowerBound >= 5, text.find("<key>", in: (name.lowerBound - 5)..<name.lowerBound, ignoringCase: false) != nil,
              text.find("</key>", in: name.upperBound..<min(text.count, name.upperBound + 6), ignoringCase: false) != nil
        else { return nil }
        let skipSpace = { (from: Int) -> Int in
            var cursor = from
            while cursor < text.count, cursor - from < 256, text[cursor] <= 32 { cursor += 1 }
            return cursor
        }
        let open = skipSpace(name.upperBound + 6)
        guard text.find("<string>", in: open..<min(text.count, open + 8), ignoringCase: false) != nil else { return nil }
        let start = skipSpace(open + 8)
        var end = start
        while end < text.count, end - start < 1024, text[end] != UInt8(ascii: "<"), text[end] != UInt8(ascii: "\n") { end += 1 }
        var last = end
        while last > start, text[last - 1] <= 32 { last -= 1 }
        let close = skipSpace(end)
        guard last > start, text.find("</string>", in: close..<min(text.count, close + 9), ignoringCase: false) != nil else { return nil }
        return (start..<last, true)
    }

    /// `- --requirepass` (a flag as a YAML list item) followed by `- value`.
    private func nextListItem(flagAt nameStart: Int, indent: Int, in text: ScanText) -> (Range<Int>, Bool)? {
        var cursor = nameStart
        while text.at(cursor - 1) == UInt8(ascii: "-") { cursor -= 1 }
        if text.at(cursor - 1) == UInt8(ascii: "\"") || text.at(cursor - 1) == UInt8(ascii: "'") { cursor -= 1 }
        guard ASCII.isBlank(text.at(cursor - 1)), text.at(cursor - 2) == UInt8(ascii: "-") else { return nil }
        let dash = cursor - 2
        let lineStart = text.lineStart(before: dash)
        guard dash - lineStart == indent else { return nil }
        let next = text.lineEnd(after: nameStart) + 1
        guard next < text.count, Self.indentation(at: next, in: text) == indent, text.at(next + indent) == UInt8(ascii: "-"),
              ASCII.isBlank(text.at(next + indent + 1))
        else { return nil }
        var valueStart = next + indent + 1
        while ASCII.isBlank(text.at(valueStart)) { valueStart += 1 }
        // The next item is another flag, not this one's value.
        if text.at(valueStart) == UInt8(ascii: "-") { return nil }
        return value(in: text, from: valueStart, bareAllowed: true)
    }

    // MARK: Helpers

    /// A `key:` (or `key =`) at `start`, optionally quoted: the key's range and where its value starts.
    static func key(at start: Int, in text: ScanText, operators: String = ":") -> (Range<Int>, Int)? {
        var cursor = start
        let quote = text.at(cursor)
        let quoted = quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'")
        if quoted { cursor += 1 }
        let keyStart = cursor
        while nameBytes.contains(text.at(cursor)), cursor - keyStart < maximumNameLength { cursor += 1 }
        guard cursor > keyStart else { return nil }
        let key = keyStart..<cursor
        if quoted {
            guard text.at(cursor) == quote else { return nil }
            cursor += 1
        }
        while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
        guard operators.utf8.contains(text.at(cursor)) else { return nil }
        cursor += 1
        // `key:value` is not YAML; `key: value`, `key:` and JSON's `"key":"value"` are.
        if !quoted, text.at(cursor - 1) == UInt8(ascii: ":"), !ASCII.isBlank(text.at(cursor)), !isLineEnd(text.at(cursor)) { return nil }
        while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
        return (key, cursor)
    }

    /// The next line after `lineEnd` that is not blank or a comment, and where it ends (without a `\r`).
    private func nextContentLine(after lineEnd: Int, in text: ScanText) -> (Range<Int>, Int)? {
        var start = lineEnd + 1
        var lines = 0
        while start < text.count, lines < 4 {
            let end = text.lineEnd(after: start)
            let content = start + Self.indentation(at: start, in: text)
            var trimmed = end
            while trimmed > content, text[trimmed - 1] == UInt8(ascii: "\r") || ASCII.isBlank(text[trimmed - 1]) { trimmed -= 1 }
            if trimmed > content { return (start..<trimmed, end) }
            start = end + 1
            lines += 1
        }
        return nil
    }

    static func indentation(at lineStart: Int, in text: ScanText) -> Int {
        var cursor = lineStart
        while cursor < text.count, cursor - lineStart < 256, ASCII.isBlank(text[cursor]) { cursor += 1 }
        return cursor - lineStart
    }

    static func blanks(after position: Int, in text: ScanText) -> Int {
        var cursor = position
        while ASCII.isBlank(text.at(cursor)) { cursor += 1 }
        return cursor - position
    }

    @inline(__always) static func isLineEnd(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == 0
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and carriage returns.
    var trimmingBlanks: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" || first == "\r" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" || last == "\r" { view = view.dropLast() }
        return String(view)
    }
}
