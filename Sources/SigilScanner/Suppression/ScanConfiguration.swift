import Foundation
import TOMLKit

/// `.sigil-scan.toml`: custom rules, rules turned off, and what is allowed.
///
/// ```toml
/// [allowlist]
/// paths = ["vendor/", "**/testdata/*.pem"]   # .gitignore syntax, relative to the scan root
/// values = ["dev-only-password"]             # exact values that are never reported
/// disabled-rules = ["generic-password"]
///
/// [[rules]]
/// id = "acme-api-key"
/// description = "Acme API key"
/// regex = 'acme_[a-z0-9]{32}'                # Swift Regex syntax; a capture group 1 is the secret
/// keywords = ["acme_"]                       # literal prefilter; without one, every line is tried
/// entropy = 3.0                              # minimum Shannon bits per character of the secret
/// ```
public struct ScanConfiguration: Sendable {
    public static let fileName = ".sigil-scan.toml"

    public var allowedPaths = GlobList(lines: [String]())
    public var allowedValues: Set<String> = []
    public var disabledRules: Set<String> = []
    public var customRules: [CustomRuleDetector] = []

    public init() {}

    /// A configuration problem, with the line it is on.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let file: String
        public let line: Int?
        public let message: String
        public var description: String {
            line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
        }
    }

    public func isPathAllowed(_ path: String) -> Bool {
        guard !allowedPaths.isEmpty else { return false }
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix += prefix.isEmpty ? String(component) : "/" + component
            if allowedPaths.verdict(prefix, isDirectory: true) == true { return true }
        }
        return allowedPaths.verdict(path, isDirectory: false) == true
    }

    public func isValueAllowed(_ value: String) -> Bool {
        allowedValues.contains(value)
    }

    static let knownRuleIds = Set(BuiltinRules.rules.map(\.id))

    /// Parses the text of a configuration file; `file` names it in problems.
    public static func parse(_ text: String, file: String) throws(Problem) -> ScanConfiguration {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw Problem(file: file, line: error.source.begin.line, message: error.description)
        } catch {
            throw Problem(file: file, line: nil, message: "not valid TOML")
        }
        let locator = Locator(text: text)
        var configuration = ScanConfiguration()
        for key in table.keys where key != "allowlist" && key != "rules" {
            throw Problem(file: file, line: locator.line(ofKey: key), message: "unknown setting '\(key)'; expected [allowlist] or [[rules]]")
        }
        if let allowlist = table["allowlist"] {
            guard let allowTable = allowlist.table else {
                throw Problem(file: file, line: locator.line(ofKey: "allowlist"), message: "'allowlist' must be a table ([allowlist])")
            }
            for key in allowTable.keys {
                let line = locator.line(ofKey: key)
                guard ["paths", "values", "disabled-rules"].contains(key) else {
                    throw Problem(file: file, line: line, message: "unknown allowlist setting '\(key)'; expected paths, values or disabled-rules")
                }
                let values = try strings(allowTable[key], key: key, file: file, line: line)
                switch key {
                case "paths": configuration.allowedPaths = GlobList(lines: values)
                case "values": configuration.allowedValues = Set(values)
                case "disabled-rules":
                    for id in values where !knownRuleIds.contains(id) {
                        throw Problem(file: file, line: line, message: "unknown rule '\(id)' in disabled-rules; see docs/scanner-rules.md for the ids")
                    }
                    configuration.disabledRules = Set(values)
                default:
                    break
                }
            }
        }
        if let rules = table["rules"] {
            guard let array = rules.array else {
                throw Problem(file: file, line: locator.line(ofKey: "rules"), message: "'rules' must be an array of tables ([[rules]])")
            }
            var seen = Set<String>()
            for (index, element) in array.enumerated() {
                let line = locator.line(ofRulesTable: index)
                guard let ruleTable = element.table else {
                    throw Problem(file: file, line: line, message: "each rule must be a table ([[rules]])")
                }
                let rule = try CustomRuleDetector.parse(ruleTable, file: file, line: line, locator: locator)
                guard !knownRuleIds.contains(rule.rule.id), seen.insert(rule.rule.id).inserted else {
                    throw Problem(file: file, line: line, message: "rule id '\(rule.rule.id)' is already taken; choose another")
                }
                configuration.customRules.append(rule)
            }
        }
        return configuration
    }

    static func strings(_ value: (any TOMLValueConvertible)?, key: String, file: String, line: Int?) throws(Problem) -> [String] {
        guard let array = value?.array else {
            throw Problem(file: file, line: line, message: "'\(key)' must be an array of strings")
        }
        var result: [String] = []
        for element in array {
            guard let string = element.string else {
                throw Problem(file: file, line: line, message: "'\(key)' must be an array of strings")
            }
            result.append(string)
        }
        return result
    }

    /// Finds the line of a key or table in the source, for problems TOMLKit has no position for.
    struct Locator {
        let lines: [Substring]

        init(text: String) {
            // Split on line feeds alone: Swift sees "\r\n" as one character.
            lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        }

        func line(ofKey key: String, after start: Int = 0) -> Int? {
            for index in start..<lines.count {
                let trimmed = lines[index].drop { $0 == " " || $0 == "\t" }
                if trimmed.hasPrefix(key + " ") || trimmed.hasPrefix(key + "=") || trimmed.hasPrefix("[" + key + "]") || trimmed.hasPrefix("\"" + key + "\"") {
                    return index + 1
                }
            }
            return nil
        }

        func line(ofRulesTable index: Int) -> Int? {
            var seen = -1
            for (number, line) in lines.enumerated() where line.trimmingCharacters(in: .whitespaces).hasPrefix("[[rules]]") {
                seen += 1
                if seen == index { return number + 1 }
            }
            return nil
        }
    }
}
