import Foundation
import SigilCore

/// How commands print: `--json` prints the API's JSON as it is, otherwise readable tables.
enum Output {
    static func json(_ value: JSONValue) {
        print(value.serialized())
    }

    /// Prints rows under a header, columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) {
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

    /// Prints `name: value` pairs, aligned.
    static func fields(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        for (name, value) in pairs { print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value) }
    }
}

extension JSONValue {
    subscript(_ name: String) -> JSONValue { objectValue?[name] ?? .null }

    /// The value as table text: strings as they are, arrays joined, null as "-".
    var text: String {
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
