/// A flexible federated-credential match (Entra's `claimsMatchingExpression`, language version 1):
///
///     claims['sub'] matches 'repo:contoso/api:ref:refs/heads/*' and claims['actor'] eq 'octocat'
///
/// Each comparison names a claim with `claims['NAME']`, then `eq` (the claim equals the text,
/// case-sensitively) or `matches` (`*` stands for any run of characters, `?` for exactly one);
/// `and` joins comparisons. Text is in single quotes; a quote inside is written twice (`''`).
/// Nothing else is part of the language, and the parser says at which character it stopped.
public struct ClaimsMatchingExpression: Sendable, Equatable {
    public static let maximumLength = 1024

    public enum Operator: String, Sendable, Equatable {
        case eq
        case matches
    }

    public struct Comparison: Sendable, Equatable {
        public let claim: String
        public let op: Operator
        public let value: String

        public init(claim: String, op: Operator, value: String) {
            self.claim = claim
            self.op = op
            self.value = value
        }
    }

    /// Why an expression was refused: the 1-based character where parsing stopped, and what was expected.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public let position: Int
        public let reason: String
        public var description: String { "at character \(position): \(reason)" }
    }

    public let text: String
    public let comparisons: [Comparison]

    public init(parsing text: String) throws(SyntaxError) {
        guard text.count <= Self.maximumLength else {
            throw SyntaxError(position: Self.maximumLength + 1, reason: "the expression is longer than \(Self.maximumLength) characters")
        }
        var parser = Parser(characters: Array(text))
        comparisons = try parser.expression()
        self.text = text
    }

    /// Whether every comparison holds for `claims`. A claim that is absent or not a string holds for none.
    public func matches(_ claims: [String: JSONValue]) -> Bool {
        comparisons.allSatisfy { comparison in
            guard let value = claims[comparison.claim]?.stringValue else { return false }
            switch comparison.op {
            case .eq: return value == comparison.value
            case .matches: return Self.glob(comparison.value, matches: value)
            }
        }
    }

    /// Wildcard matching: `*` any run of characters (also none), `?` exactly one; everything
    /// else literally, case-sensitively. Linear in practice: one backtrack point, the last `*`.
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        let pattern = Array(pattern.unicodeScalars)
        let text = Array(text.unicodeScalars)
        var p = 0, t = 0
        var star: Int?, resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || (pattern[p] != "*" && pattern[p] == text[t]) {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                resume = t
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    private struct Parser {
        let characters: [Character]
        var index = 0

        mutating func expression() throws(SyntaxError) -> [Comparison] {
            var comparisons = [try comparison()]
            skipSpaces()
            while index < characters.count {
                try keyword("and", expected: "'and' or the end of the expression")
                comparisons.append(try comparison())
                skipSpaces()
            }
            return comparisons
        }

        mutating func comparison() throws(SyntaxError) -> Comparison {
            skipSpaces()
            try literal("claims['", expected: "claims['NAME']")
            let nameStart = index
            while index < characters.count, characters[index] != "'" {
                guard Self.isNameCharacter(characters[index]) else {
                    throw fail("a claim name has letters, digits, '_', '-', '.' or ':'; found '\(characters[index])'")
                }
                index += 1
            }
            guard index > nameStart else { throw fail("the claim name is empty") }
            let claim = String(characters[nameStart..<index])
            try literal("']", expected: "']' after the claim name")
            skipSpaces()
            let op: Operator
            if peek("eq") {
                op = .eq
            } else if peek("matches") {
                op = .matches
            } else {
                throw fail("expected 'eq' or 'matches'")
            }
            try keyword(op.rawValue, expected: "'eq' or 'matches'")
            skipSpaces()
            return Comparison(claim: claim, op: op, value: try quoted())
        }

        /// A single-quoted text; `''` inside stands for one quote.
        mutating func quoted() throws(SyntaxError) -> String {
            guard index < characters.count, characters[index] == "'" else { throw fail("expected a value in single quotes") }
            index += 1
            var value = ""
            while index < characters.count {
                if characters[index] == "'" {
                    if index + 1 < characters.count, characters[index + 1] == "'" {
                        value.append("'")
                        index += 2
                        continue
                    }
                    index += 1
                    return value
                }
                guard !characters[index].unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                    throw fail("a value may not contain control characters")
                }
                value.append(characters[index])
                index += 1
            }
            throw fail("the value has no closing quote")
        }

        /// A word that must stand alone: followed by a space (the next comparison or value follows).
        mutating func keyword(_ word: String, expected: String) throws(SyntaxError) {
            try literal(word, expected: expected)
            guard index < characters.count, characters[index] == " " else { throw fail("expected a space after '\(word)'") }
        }

        mutating func literal(_ text: String, expected: String) throws(SyntaxError) {
            guard peek(text) else { throw fail("expected \(expected)") }
            index += text.count
        }

        func peek(_ text: String) -> Bool {
            let wanted = Array(text)
            return index + wanted.count <= characters.count && Array(characters[index..<(index + wanted.count)]) == wanted
        }

        mutating func skipSpaces() {
            while index < characters.count, characters[index] == " " { index += 1 }
        }

        func fail(_ reason: String) -> SyntaxError { SyntaxError(position: index + 1, reason: reason) }

        static func isNameCharacter(_ character: Character) -> Bool {
            character.isASCII && (character.isLetter || character.isNumber || "_-.:".contains(character))
        }
    }
}
