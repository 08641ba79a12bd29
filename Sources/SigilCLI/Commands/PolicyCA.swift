import ArgumentParser
import Foundation
import SigilCore

/// `sigil policy ca …`: Conditional Access for workload identities, its named locations, and
/// trying a policy before it is switched on (what-if, impact over recorded sign-ins).
struct PolicyCA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca", abstract: "Conditional Access for workload identities: block sign-ins by service principal, location and risk.",
        subcommands: [Create.self, List.self, Show.self, Set.self, Delete.self, WhatIf.self, Impact.self, Location.self])

    static let base = "identity/conditionalAccess/"
    static func path(_ reference: String) -> String { base + "policies/" + FormParameters.percentEncode(reference) }

    /// Deletes what `path` names and says so (`--json`: `{"deleted": REFERENCE}`).
    static func delete(_ path: String, _ reference: String, _ what: String, _ output: OutputOptions) async throws {
        try await runAdmin { client in
            try await client.call("DELETE", path)
            if output.json { Output.json(["deleted": .string(reference)]) } else { print("Deleted \(what) \(reference).") }
        }
    }

    /// Reads a JSON object from a file (a Graph conditionalAccessPolicy, as `show --json` prints one).
    static func readObject(_ file: String) throws -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        do {
            return try JSONParser.parseObject(Array(data))
        } catch {
            throw CLIError("\(file) is not a JSON object: \(error)")
        }
    }

    /// servicePrincipalId → name of the tenant's applications and managed identities, and
    /// location id → name, for printing policies.
    static func names(_ client: AdminClient) async throws -> [String: String] {
        var names: [String: String] = [:]
        for app in try await client.call("GET", "applications")["value"].arrayValue ?? [] { names[app["servicePrincipalId"].text] = app["displayName"].text }
        for identity in try await client.call("GET", "managedIdentities")["value"].arrayValue ?? [] { names[identity["id"].text] = identity["displayName"].text }
        for location in try await client.call("GET", base + "namedLocations")["value"].arrayValue ?? [] { names[location["id"].text] = location["displayName"].text }
        return names
    }

    static func named(_ list: JSONValue, _ names: [String: String]) -> String {
        let entries = list.arrayValue ?? []
        return entries.isEmpty ? "-" : entries.map { names[$0.text] ?? $0.text }.joined(separator: ",")
    }

    /// Prints a policy as `--json` or as fields with names instead of ids.
    static func show(_ policy: JSONValue, _ output: OutputOptions, _ client: AdminClient) async throws {
        if output.json { return Output.json(policy) }
        let names = try await names(client)
        let conditions = policy["conditions"]
        Output.fields([
            ("displayName", policy["displayName"].text), ("id", policy["id"].text), ("state", policy["state"].text),
            ("servicePrincipals", named(conditions["clientApplications"]["includeServicePrincipals"], names)),
            ("excludeServicePrincipals", named(conditions["clientApplications"]["excludeServicePrincipals"], names)),
            ("locations", named(conditions["locations"]["includeLocations"], names)),
            ("excludeLocations", named(conditions["locations"]["excludeLocations"], names)),
            ("servicePrincipalRiskLevels", conditions["servicePrincipalRiskLevels"].text), ("grant", "block"),
            ("modifiedDateTime", policy["modifiedDateTime"].text),
        ])
    }

    /// The condition flags of `create` and `set`; each given list replaces the policy's.
    struct PolicyOptions: ParsableArguments {
        @Option(help: "Display name, unique in the tenant.") var name: String?
        @Option(help: "A Graph conditionalAccessPolicy JSON file; the flags below override its members.") var file: String?
        @Option(help: "Include a service principal (name, appId, objectId or servicePrincipalId), or All. Repeatable.") var sp: [String] = []
        @Option(name: .customLong("exclude-sp"), help: "Exclude a service principal. Repeatable.") var excludeSp: [String] = []
        @Option(help: "Include only sign-ins from this named location (name or id), or All, or AllTrusted. Repeatable.") var location: [String] = []
        @Option(name: .customLong("exclude-location"), help: "Exclude a named location (name or id), or AllTrusted. Repeatable.") var excludeLocation: [String] = []
        @Option(help: "Apply only at this service principal risk: low, medium or high. Repeatable.") var risk: [String] = []
        @Option(help: "enabled, disabled or reportOnly.") var state: String?

        /// `base` (the file, or the policy being changed) with the flags applied.
        func body(_ base: [String: JSONValue]) throws -> JSONValue {
            var object = base
            if let file { object.merge(try PolicyCA.readObject(file)) { _, new in new } }
            if let name { object["displayName"] = .string(name) }
            if let state { object["state"] = .string(state) }
            if object["grantControls"] == nil { object["grantControls"] = ["operator": "OR", "builtInControls": ["block"]] }
            var conditions = object["conditions"]?.objectValue ?? [:]
            var clients = conditions["clientApplications"]?.objectValue ?? [:]
            if !sp.isEmpty { clients["includeServicePrincipals"] = .array(sp.map(JSONValue.string)) }
            if !excludeSp.isEmpty { clients["excludeServicePrincipals"] = .array(excludeSp.map(JSONValue.string)) }
            conditions["clientApplications"] = .object(clients)
            if !location.isEmpty || !excludeLocation.isEmpty {
                var locations = conditions["locations"]?.objectValue ?? [:]
                if !location.isEmpty { locations["includeLocations"] = .array(location.map(JSONValue.string)) }
                if locations["includeLocations"] == nil { locations["includeLocations"] = ["All"] }
                if !excludeLocation.isEmpty { locations["excludeLocations"] = .array(excludeLocation.map(JSONValue.string)) }
                conditions["locations"] = .object(locations)
            }
            if !risk.isEmpty { conditions["servicePrincipalRiskLevels"] = .array(risk.map(JSONValue.string)) }
            object["conditions"] = .object(conditions)
            return .object(object)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a policy (grant: block). Without --state it starts report-only: try it, then turn it on with `set --state enabled`.")
        @OptionGroup var options: PolicyOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                var body = try options.body([:]).objectValue ?? [:]
                if body["state"] == nil { body["state"] = "reportOnly" }
                try await PolicyCA.show(try await client.call("POST", PolicyCA.base + "policies", json: .object(body)), output, client)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List policies in evaluation order.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", PolicyCA.base + "policies")
                if output.json { return Output.json(list) }
                let names = try await PolicyCA.names(client)
                Output.table(
                    ["NAME", "STATE", "SERVICE PRINCIPALS", "EXCLUDED", "LOCATIONS", "EXCLUDED LOCATIONS", "RISK", "ID"],
                    (list["value"].arrayValue ?? []).map { policy in
                        let conditions = policy["conditions"]
                        return [
                            policy["displayName"].text, policy["state"].text, PolicyCA.named(conditions["clientApplications"]["includeServicePrincipals"], names),
                            PolicyCA.named(conditions["clientApplications"]["excludeServicePrincipals"], names),
                            PolicyCA.named(conditions["locations"]["includeLocations"], names), PolicyCA.named(conditions["locations"]["excludeLocations"], names),
                            conditions["servicePrincipalRiskLevels"].text, policy["id"].text,
                        ]
                    })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a policy.")
        @Argument(help: "The policy's id or name.") var policy: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in try await PolicyCA.show(try await client.call("GET", PolicyCA.path(policy)), output, client) }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a policy: its name, state or conditions (each list given replaces the policy's).")
        @Argument(help: "The policy's id or name.") var policy: String
        @OptionGroup var options: PolicyOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let current = try await client.call("GET", PolicyCA.path(policy))
                let base = (current.objectValue ?? [:]).filter { ["displayName", "state", "conditions", "grantControls"].contains($0.key) }
                try await PolicyCA.show(try await client.call("PATCH", PolicyCA.path(policy), json: try options.body(base)), output, client)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a policy.")
        @Argument(help: "The policy's id or name.") var policy: String
        @OptionGroup var output: OutputOptions

        func run() async throws { try await PolicyCA.delete(PolicyCA.path(policy), policy, "policy", output) }
    }

    struct WhatIf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "what-if", abstract: "Show each policy's verdict, and why, for a service principal signing in from an address.")
        @Option(help: "The service principal: app or managed identity name, appId, objectId or servicePrincipalId.") var sp: String
        @Option(help: "The client's IP address.") var ip: String
        @Option(help: "Assume this risk (none, low, medium, high) instead of the service principal's current one.") var risk: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                var body: [String: JSONValue] = ["servicePrincipalId": .string(sp), "ipAddress": .string(ip)]
                if let risk { body["servicePrincipalRiskLevel"] = .string(risk) }
                let result = try await client.call("POST", PolicyCA.base + "evaluate", json: .object(body))
                if output.json { return Output.json(result) }
                let locations = (result["namedLocations"].arrayValue ?? []).map { $0["displayName"].text + ($0["isTrusted"].boolValue == true ? " (trusted)" : "") }
                print("\(result["appDisplayName"].text) from \(result["ipAddress"].text), risk \(result["servicePrincipalRiskLevel"].text): \(result["conditionalAccessStatus"].text)")
                print("named locations: \(locations.isEmpty ? "none" : locations.joined(separator: ", "))")
                print("")
                Output.table(
                    ["POLICY", "STATE", "RESULT", "WHY"],
                    (result["policies"].arrayValue ?? []).map { [$0["displayName"].text, $0["state"].text, $0["result"].text, $0["reason"].text] })
            }
        }
    }

    struct Impact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay the sign-ins of the last days against a draft policy: which service principals and sign-ins it would have blocked.")
        @Argument(help: "The draft policy: a Graph conditionalAccessPolicy JSON file (its state is ignored: it is tried as if enabled).") var file: String
        @Option(help: "How many days of sign-ins to replay (1–365).") var days = 30
        @Option(help: "List at most this many of the latest blocked sign-ins (1–1000).") var top = 100
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let draft = try PolicyCA.readObject(file)
                let report = try await client.call(
                    "POST", PolicyCA.base + "impact", json: ["policy": .object(draft), "days": .integer(Int64(days)), "top": .integer(Int64(top))])
                if output.json { return Output.json(report) }
                print("Replayed \(report["evaluatedSignIns"].text) sign-ins of the last \(report["days"].text) days: \(report["blockedSignIns"].text) would have been blocked.")
                let principals = report["servicePrincipals"].arrayValue ?? []
                guard !principals.isEmpty else { return }
                print("")
                Output.table(
                    ["APP", "APP ID", "BLOCKED SIGN-INS", "LAST"],
                    principals.map { [$0["appDisplayName"] == .null ? $0["servicePrincipalId"].text : $0["appDisplayName"].text, $0["appId"].text, $0["blockedSignIns"].text, $0["lastBlockedDateTime"].text] })
                let signIns = report["signIns"].arrayValue ?? []
                print("")
                Output.table(
                    ["TIME", "APP", "CREDENTIAL", "IP", "CORRELATION ID"],
                    signIns.map { [$0["createdDateTime"].text, $0["appDisplayName"].text, $0["clientCredentialType"].text, $0["ipAddress"].text, $0["correlationId"].text] })
                if report["signInsTruncated"].boolValue == true { print("(the latest \(signIns.count) shown; --top shows more)") }
            }
        }
    }
}

extension PolicyCA {
    /// `sigil policy ca location …`: the named locations policies include or exclude.
    struct Location: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Named locations: IPv4 and IPv6 CIDR ranges, trusted or not.", subcommands: [Create.self, List.self, Show.self, Set.self, Delete.self])

        static func path(_ reference: String) -> String { PolicyCA.base + "namedLocations/" + FormParameters.percentEncode(reference) }

        static func ranges(_ cidrs: [String]) -> JSONValue { .array(cidrs.map { ["cidrAddress": .string($0)] }) }

        static func printLocation(_ location: JSONValue, _ output: OutputOptions) {
            if output.json { return Output.json(location) }
            Output.fields([
                ("displayName", location["displayName"].text), ("id", location["id"].text), ("isTrusted", location["isTrusted"].text),
                ("ipRanges", (location["ipRanges"].arrayValue ?? []).map { $0["cidrAddress"].text }.joined(separator: ",")),
                ("modifiedDateTime", location["modifiedDateTime"].text),
            ])
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a named location.")
            @Option(help: "Display name, unique in the tenant.") var name: String
            @Option(help: "A range such as 203.0.113.0/24 or 2001:db8::/48. Repeatable.") var cidr: [String] = []
            @Flag(help: "Mark the location trusted (policies can exclude AllTrusted).") var trusted = false
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    Location.printLocation(try await client.call("POST", PolicyCA.base + "namedLocations", json: [
                        "displayName": .string(name), "isTrusted": .bool(trusted), "ipRanges": Location.ranges(cidr),
                    ]), output)
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List named locations.")
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    let list = try await client.call("GET", PolicyCA.base + "namedLocations")
                    if output.json { return Output.json(list) }
                    Output.table(
                        ["NAME", "TRUSTED", "RANGES", "ID"],
                        (list["value"].arrayValue ?? []).map {
                            [$0["displayName"].text, $0["isTrusted"].text, ($0["ipRanges"].arrayValue ?? []).map { $0["cidrAddress"].text }.joined(separator: ","), $0["id"].text]
                        })
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a named location.")
            @Argument(help: "The location's id or name.") var location: String
            @OptionGroup var output: OutputOptions

            func run() async throws { try await runAdmin { Location.printLocation(try await $0.call("GET", Location.path(location)), output) } }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Rename a location, replace its ranges, or change whether it is trusted.")
            @Argument(help: "The location's id or name.") var location: String
            @Option(help: "A new display name.") var name: String?
            @Option(help: "The ranges (all of them: they replace the current ones). Repeatable.") var cidr: [String] = []
            @Flag(inversion: .prefixedNo, help: "Mark the location trusted, or not.") var trusted: Bool?
            @OptionGroup var output: OutputOptions

            func run() async throws {
                var body: [String: JSONValue] = [:]
                if let name { body["displayName"] = .string(name) }
                if !cidr.isEmpty { body["ipRanges"] = Location.ranges(cidr) }
                if let trusted { body["isTrusted"] = .bool(trusted) }
                try await runAdmin { client in
                    guard !body.isEmpty else { throw CLIError("nothing to change: give --name, --cidr or --trusted / --no-trusted") }
                    Location.printLocation(try await client.call("PATCH", Location.path(location), json: .object(body)), output)
                }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a named location no policy uses.")
            @Argument(help: "The location's id or name.") var location: String
            @OptionGroup var output: OutputOptions

            func run() async throws { try await PolicyCA.delete(Location.path(location), location, "location", output) }
        }
    }
}
