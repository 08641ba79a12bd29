import ArgumentParser
import Foundation
import SigilCore

/// Options every command that prints an object takes.
public struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (Microsoft Graph field names) instead of a table.")
    public var json = false

    public init() {}
}

/// How commands print: `--json` prints the API's JSON as it is, otherwise readable tables.
public enum Output {
    public static func json(_ value: JSONValue) {
        print(value.serialized())
    }

    /// Prints rows under a header, columns padded to their widest cell.
    public static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        print(line(header))
        for row in rows { print(line(row)) }
    }

    /// Prints rows as RFC 4180 CSV under a header row. A cell that a spreadsheet would run as a
    /// formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return; user agents are the
    /// clients' words) gets a leading `'`.
    public static func csv(_ header: [String], _ rows: [[String]]) {
        func cell(_ text: String) -> String {
            let safe = text.first.map { "=+-@\t\r".contains($0) } == true ? "'" + text : text
            guard safe.contains(where: { ",\"\r\n".contains($0) }) else { return safe }
            return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        for row in [header] + rows { print(row.map(cell).joined(separator: ","), terminator: "\r\n") }
    }

    /// Prints `name: value` pairs, aligned.
    public static func fields(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        for (name, value) in pairs { print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value) }
    }
}

extension JSONValue {
    public subscript(_ name: String) -> JSONValue { objectValue?[name] ?? .null }

    /// The value as table text: strings as they are, arrays joined, null as "-".
    public var text: String {
        switch self {
        case .null: "-"
        case .string(let value): value
        case .bool(let value): value ? "yes" : "no"
        case .number: serialized()
        case .array(let values): values.isEmpty ? "-" : values.map(\.text).joined(separator: ",")
        case .object: serialized()
        }
    }
}

/// Runs a command body, turning any failure into one `error: …` line on stderr and exit code 1.
public func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
