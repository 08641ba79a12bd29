import Foundation

/// One secret the scanner must report: 1-based line where the secret starts, rule id, and the exact
/// text that was inserted (for a multi-line secret, every line of it).
struct ExpectedFinding: Hashable {
    let line: Int
    let rule: String
    let value: String
}

/// A corpus file after its placeholders were filled, with the findings it must produce.
struct LabeledFile {
    /// Relative to the Corpus folder, `/`-separated.
    let path: String
    let text: String
    let expected: [ExpectedFinding]
}

/// The labelled scanner corpus (Tests/SigilScannerTests/Corpus, see its README.md).
///
/// Every `⟦rule-id⟧` in a file becomes a fresh value from `SecretFactory`, and every
/// `⟦rule-id|literal⟧` becomes `literal` (its base64 for a name ending in `-base64`); each one is one
/// expected finding. A multi-line value
/// keeps the indentation of the line it starts on, so keys inside YAML block scalars stay valid.
enum Corpus {
    struct LoadError: Error, CustomStringConvertible {
        let file: String
        let line: Int
        let message: String

        var description: String { "\(file):\(line): \(message)" }
    }

    static let openMark: Unicode.Scalar = "\u{27E6}"   // ⟦
    static let closeMark: Unicode.Scalar = "\u{27E7}"  // ⟧

    /// Reads every file under `root` (except the top-level README.md) in sorted path order and fills
    /// its placeholders from one generator seeded with `seed`.
    static func load(root: URL, seed: UInt64) throws -> [LabeledFile] {
        var rng = SeededGenerator(seed: seed)
        return try relativePaths(under: root).map { path in
            let url = root.appendingPathComponent(path)
            guard let text = String(data: try Data(contentsOf: url), encoding: .utf8) else {
                throw LoadError(file: path, line: 0, message: "not UTF-8")
            }
            return try expand(text, path: path, using: &rng)
        }
    }

    static func relativePaths(under root: URL) throws -> [String] {
        let manager = FileManager.default
        guard let walker = manager.enumerator(atPath: root.path) else {
            throw LoadError(file: root.path, line: 0, message: "cannot list the corpus folder")
        }
        var paths: [String] = []
        while let path = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory),
                  !isDirectory.boolValue else { continue }
            if path == "README.md" || path.hasSuffix(".DS_Store") { continue }
            paths.append(path)
        }
        return paths.sorted()
    }

    /// Fills the placeholders of one file. Line numbers count the lines of earlier multi-line values.
    static func expand(_ text: String, path: String, using rng: inout some RandomNumberGenerator) throws -> LabeledFile {
        var outputLines: [String] = []
        var expected: [ExpectedFinding] = []
        var outputLine = 1
        let sourceLines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)

        for (index, source) in sourceLines.enumerated() {
            let scalars = Array(source)
            let sourceLine = index + 1
            let indent = String(String.UnicodeScalarView(scalars.prefix { $0 == " " || $0 == "\t" }))
            let lineBreak = scalars.last == "\r" ? "\r\n" : "\n"
            var out = String.UnicodeScalarView()
            var newlines = 0
            var position = 0
            while position < scalars.count {
                let scalar = scalars[position]
                if scalar == closeMark {
                    throw LoadError(file: path, line: sourceLine, message: "'⟧' without an opening '⟦'")
                }
                guard scalar == openMark else {
                    out.append(scalar)
                    position += 1
                    continue
                }
                guard let end = scalars[(position + 1)...].firstIndex(of: closeMark) else {
                    throw LoadError(file: path, line: sourceLine, message: "placeholder not closed on its line")
                }
                let body = String(String.UnicodeScalarView(scalars[(position + 1)..<end]))
                if body.unicodeScalars.contains(openMark) {
                    throw LoadError(file: path, line: sourceLine, message: "nested placeholder in ⟦\(body)⟧")
                }
                let name: String
                var value: String
                if let bar = body.firstIndex(of: "|") {
                    name = String(body[..<bar])
                    value = String(body[body.index(after: bar)...])
                    if value.isEmpty {
                        throw LoadError(file: path, line: sourceLine, message: "empty literal in ⟦\(body)⟧")
                    }
                    value = SecretFactory.literal(value, placeholder: name)
                } else {
                    name = body
                    value = ""
                }
                guard let rule = SecretFactory.labelRule(for: name) else {
                    throw LoadError(file: path, line: sourceLine, message: "unknown rule id '\(name)'")
                }
                if value.isEmpty { value = SecretFactory.make(rule: name, using: &rng) }
                if value.contains("\n") {
                    value = value.split(separator: "\n", omittingEmptySubsequences: false)
                        .enumerated()
                        .map { $0.offset == 0 || $0.element.isEmpty ? String($0.element) : indent + $0.element }
                        .joined(separator: lineBreak)
                }
                expected.append(ExpectedFinding(line: outputLine + newlines, rule: rule, value: value))
                out.append(contentsOf: value.unicodeScalars)
                newlines += value.unicodeScalars.filter { $0 == "\n" }.count
                position = end + 1
            }
            outputLines.append(String(out))
            outputLine += 1 + newlines
        }
        return LabeledFile(path: path, text: outputLines.joined(separator: "\n"), expected: expected)
    }
}
