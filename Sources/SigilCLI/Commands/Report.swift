import ArgumentParser
import Foundation
import SigilCore

/// `sigil report`: the triage reports (DESIGN §8), each as a table, `--json` or `--format csv`.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Triage reports: the credential inventory, stale and expiring credentials, migration stages, the secretless share.",
        subcommands: [Inventory.self, Stale.self, Stages.self, Secretless.self])

    /// A column: its header, and its cell of a row.
    typealias Column = (String, (JSONValue) -> String)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    struct FormatOptions: ParsableArguments {
        @Option(help: "table, json or csv.") var format: Format = .table
        @Flag(help: "The same as --format json.") var json = false

        var chosen: Format { json ? .json : format }

        /// Fetches the report at `path` and prints it: JSON as it is, or the rows `rows` picks from it.
        func show(_ path: String, query: [(String, String)], rows: @escaping (JSONValue) -> [JSONValue] = { Report.list($0) }, columns: [Column]) async throws {
            try await runAdmin { client in
                let report = try await client.call("GET", path, query: query)
                print(report, items: rows(report), columns: columns)
            }
        }

        /// Prints `value` as JSON, or the rows `columns` makes of `items` as a table or CSV.
        func print(_ value: JSONValue, items: [JSONValue], columns: [Column]) {
            switch chosen {
            case .json: Output.json(value)
            case .table: Output.table(columns.map(\.0), items.map { item in columns.map { $0.1(item) } })
            case .csv: Output.csv(columns.map { $0.0.lowercased().replacingOccurrences(of: " ", with: "_") }, items.map { item in columns.map { $0.1(item) } })
            }
        }
    }

    struct Windows: ParsableArguments {
        @Option(name: .customLong("unused-days"), help: "A credential unused for this many days is stale (1–3650).") var unusedDays = 30
        @Option(name: .customLong("expiring-days"), help: "A credential expiring within this many days is expiring (1–3650).") var expiringDays = 30

        var query: [(String, String)] { [("unusedDays", String(unusedDays)), ("expiringDays", String(expiringDays))] }
    }

    struct Window: ParsableArguments {
        @Option(help: "The window, in days (1–3650).") var days = 30
        @Option(help: "The window's last day, YYYY-MM-DD (UTC); today by default.") var until: String?

        var query: [(String, String)] { [("days", String(days))] + (until.map { [("until", $0)] } ?? []) }
    }

    static func list(_ value: JSONValue, _ field: String = "value") -> [JSONValue] { value[field].arrayValue ?? [] }

    /// A cell: arrays joined with `;` (commas separate CSV columns), null as `-`.
    static func cell(_ value: JSONValue) -> String {
        if case .array(let values) = value { return values.map(\.text).joined(separator: ";") }
        return value.text
    }

    static var credentialColumns: [Column] { [
        ("APP", { $0["appDisplayName"].text }), ("APP ID", { $0["appId"].text }), ("TYPE", { $0["credentialType"].text }),
        ("KEY ID", { $0["keyId"].text }), ("NAME", { $0["displayName"].text }), ("STATE", { $0["state"].text }),
        ("CREATED", { $0["createdDateTime"].text }), ("EXPIRES", { $0["expiresDateTime"].text }), ("LAST USED", { $0["lastUsedDateTime"].text }),
        ("SIGN-INS", { $0["signIns"].text }), ("NETWORKS", { cell($0["networks"]) }), ("USER AGENTS", { cell($0["userAgents"]) }),
    ] }

    struct Inventory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every credential in the tenant: type, created, expires, last used, and from which networks and user agents.")
        @OptionGroup var windows: Windows
        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await output.show("reports/credentials", query: windows.query, columns: Report.credentialColumns + [
                ("STALE", { $0["stale"].text }), ("EXPIRING", { $0["expiring"].text }),
            ])
        }
    }

    struct Stale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Credentials unused for --unused-days, and credentials expiring within --expiring-days.")
        @OptionGroup var windows: Windows
        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await output.show(
                "reports/stale", query: windows.query,
                rows: { report in ["unused", "expiring"].flatMap { why in Report.list(report, why).map { Report.tagged($0, why) } } },
                columns: [("WHY", { $0["why"].text })] + Report.credentialColumns)
        }
    }

    /// `item` with one more field (`why` unless told otherwise), for a column that says which part of the report a row is from.
    static func tagged(_ item: JSONValue, _ value: String, as field: String = "why") -> JSONValue {
        var object = item.objectValue ?? [:]
        object[field] = .string(value)
        return .object(object)
    }

    struct Stages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each application's migration stage from its sign-ins: secret-only, secret-and-secretless, secretless or unused.")
        @OptionGroup var window: Window
        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await output.show("reports/stages", query: window.query, columns: [
                ("APP", { $0["appDisplayName"].text }), ("APP ID", { $0["appId"].text }), ("STAGE", { $0["stage"].text }),
                ("SECRET SIGN-INS", { $0["secretSignIns"].text }), ("SECRETLESS SIGN-INS", { $0["secretlessSignIns"].text }),
                ("ENABLED SECRETS", { $0["enabledSecrets"].text }),
            ])
        }
    }

    struct Secretless: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The share of sign-ins that used no secret (signInShare) and of apps in the secretless stage (appShare), over the window and per day.")
        @OptionGroup var window: Window
        @OptionGroup var output: FormatOptions

        func run() async throws {
            let percent: (JSONValue) -> String = { value in
                if case .number(let share) = value { String(format: "%.1f%%", share * 100) } else { "-" }
            }
            try await output.show(
                "reports/secretless", query: window.query,
                rows: { report in [Report.tagged(report, "window", as: "date")] + Report.list(report, "daily") },
                columns: [
                    ("DATE", { $0["date"].text }), ("SIGN-IN SHARE", { percent($0["signInShare"]) }), ("APP SHARE", { percent($0["appShare"]) }),
                    ("SIGN-INS", { $0["signIns"].text }), ("SECRETLESS SIGN-INS", { $0["secretlessSignIns"].text }),
                    ("APPS", { $0["apps"].text }), ("SECRETLESS APPS", { $0["secretlessApps"].text }),
                ])
        }
    }
}
