import ArgumentParser
import Foundation
import SigilCore

/// `sigil host …`: machines that run the agent, and the rules that hand their identities to processes.
struct Host: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hosts: machines whose agent hands managed identities to local workloads.",
        subcommands: [Create.self, List.self, Show.self, Remove.self, Rule.self])

    static func path(_ reference: String) -> String { "hosts/" + FormParameters.percentEncode(reference) }

    static func printHost(_ host: JSONValue) {
        let assigned = (host["userAssignedIdentities"].arrayValue ?? []).map { $0["displayName"].text }
        Output.fields([
            ("name", host["name"].text), ("id", host["id"].text), ("enrolled", host["enrolledDateTime"].text),
            ("system identity appId", host["appId"].text), ("assigned identities", assigned.isEmpty ? "-" : assigned.joined(separator: ",")),
        ])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a host; prints its one-time join token for `sigil agent enroll`.")
        @Argument(help: "1–63 letters, digits, '-', '_' or '.'.") var name: String
        @Option(name: .customLong("join-ttl"), help: "How long the join token stays valid, ISO-8601 (at most P1D).") var joinTTL = "PT10M"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let host = try await client.call("POST", "hosts", json: ["name": .string(name), "joinTokenLifetime": .string(joinTTL)])
                if output.json { return Output.json(host) }
                Host.printHost(host)
                print("\nJoin token (works once, until \(host["joinTokenExpiresDateTime"].text)):\n  \(host["joinToken"].text)")
                print("On the host: sigil agent enroll --server SERVER_URL --ca CA.pem --join-token TOKEN")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List hosts.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", "hosts")
                if output.json { return Output.json(list) }
                Output.table(
                    ["NAME", "ID", "ENROLLED", "SYSTEM IDENTITY APP ID"],
                    (list["value"].arrayValue ?? []).map { [$0["name"].text, $0["id"].text, $0["enrolledDateTime"].text, $0["appId"].text] })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a host with its identities.")
        @Argument var host: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let found = try await client.call("GET", Host.path(host))
                if output.json { Output.json(found) } else { Host.printHost(found) }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a host and its system identity; its agent's next token request is refused.")
        @Argument var host: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", Host.path(host))
                if output.json { Output.json(["removed": .string(host)]) } else { print("Removed host \(host).") }
            }
        }
    }

    struct Rule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which local processes (by uid, gid, executable path or SHA-256) get which identity through the agent's socket.",
            subcommands: [Add.self, List.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Hand IDENTITY to the processes on HOST that match every selector given.",
                discussion: "A rule on the executable (--path, --sha256) also needs --uid or --gid: any local user can run a copy of a binary.")
            @Argument var host: String
            @Option(help: "The managed identity (assigned to the host, or its system identity).") var identity: String
            @Option(help: "The caller's user id.") var uid: UInt32?
            @Option(help: "The caller's group id.") var gid: UInt32?
            @Option(help: "The caller's executable, an absolute path.") var path: String?
            @Option(help: "The SHA-256 of the caller's executable (sha256sum).") var sha256: String?
            @OptionGroup var output: OutputOptions

            func run() async throws {
                var body: [String: JSONValue] = ["identity": .string(identity)]
                if let uid { body["uid"] = .integer(Int64(uid)) }
                if let gid { body["gid"] = .integer(Int64(gid)) }
                if let path { body["path"] = .string(path) }
                if let sha256 { body["sha256"] = .string(sha256) }
                try await runAdmin { client in
                    guard body.count >= 2 else { throw CLIError("give at least one of --uid, --gid, --path and --sha256 (a --path or --sha256 rule also needs --uid or --gid)") }
                    let rule = try await client.call("POST", Host.path(host) + "/rules", json: .object(body))
                    if output.json { return Output.json(rule) }
                    Rule.print([rule])
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a host's rules.")
            @Argument var host: String
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    let list = try await client.call("GET", Host.path(host) + "/rules")
                    if output.json { return Output.json(list) }
                    Rule.print(list["value"].arrayValue ?? [])
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a rule.")
            @Argument var host: String
            @Argument(help: "The rule's id.") var rule: String
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    try await client.call("DELETE", Host.path(host) + "/rules/" + FormParameters.percentEncode(rule))
                    if output.json { Output.json(["removed": .string(rule)]) } else { Swift.print("Removed rule \(rule).") }
                }
            }
        }

        static func print(_ rules: [JSONValue]) {
            Output.table(
                ["ID", "IDENTITY", "SELECTOR"],
                rules.map { rule in
                    let selectors = HostRule.Selector.kinds.filter { rule[$0] != .null }.map { "\($0)=\(rule[$0].text)" }
                    return [rule["id"].text, rule["identity"]["displayName"].text, selectors.joined(separator: " ")]
                })
        }
    }
}
