import ArgumentParser
import Foundation
import SigilCore

/// `sigil mi …`: user-assigned managed identities, which hosts may vouch for once assigned.
struct ManagedIdentity: AsyncParsableCommand, FederatedOwner {
    static let configuration = CommandConfiguration(
        commandName: "mi", abstract: "Managed identities: identities with no credential anyone can read, handed out by the agent on a host.",
        subcommands: [Create.self, List.self, Show.self, Delete.self, Assign.self, Unassign.self, Federated<ManagedIdentity>.self])

    static func path(_ reference: String) -> String { "managedIdentities/" + FormParameters.percentEncode(reference) }

    static func printIdentity(_ identity: JSONValue) {
        Output.fields([
            ("displayName", identity["displayName"].text), ("appId", identity["appId"].text), ("objectId", identity["objectId"].text),
            ("type", identity["type"].text), ("resourceId", identity["resourceId"].text), ("hosts", identity["hosts"].text),
        ])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user-assigned managed identity.")
        @Argument(help: "Display name, unique in the tenant.") var name: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let identity = try await client.call("POST", "managedIdentities", json: ["displayName": .string(name)])
                if output.json { Output.json(identity) } else { ManagedIdentity.printIdentity(identity) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List user-assigned managed identities.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", "managedIdentities")
                if output.json { return Output.json(list) }
                Output.table(
                    ["NAME", "APP ID", "OBJECT ID", "HOSTS"],
                    (list["value"].arrayValue ?? []).map { [$0["displayName"].text, $0["appId"].text, $0["objectId"].text, $0["hosts"].text] })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a managed identity (user- or system-assigned).")
        @Argument(help: "Name, appId or objectId.") var identity: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let found = try await client.call("GET", ManagedIdentity.path(identity))
                if output.json { Output.json(found) } else { ManagedIdentity.printIdentity(found) }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user-assigned managed identity; no host can get its tokens any more.")
        @Argument var identity: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", ManagedIdentity.path(identity))
                if output.json { Output.json(["deleted": .string(identity)]) } else { print("Deleted \(identity).") }
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a host's agent hand out this identity.")
        @Argument var identity: String
        @Option(help: "The host's name or id.") var host: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let updated = try await client.call("POST", Host.path(host) + "/identities", json: ["identity": .string(identity)])
                if output.json { Output.json(updated) } else { print("Assigned \(identity) to host \(updated["name"].text).") }
            }
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take an identity from a host; its next token request is refused.")
        @Argument var identity: String
        @Option(help: "The host's name or id.") var host: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", Host.path(host) + "/identities/" + FormParameters.percentEncode(identity))
                if output.json { Output.json(["unassigned": .string(identity), "host": .string(host)]) } else { print("Unassigned \(identity) from host \(host).") }
            }
        }
    }
}

/// `sigil issuer …`: the issuers Sigil may fetch keys from on a loopback or private address.
struct Issuer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trusted issuers: federated issuers on loopback or private addresses, or with a private CA.",
        subcommands: [Trust.self, List.self, Untrust.self])

    struct Trust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let Sigil fetch this issuer's metadata even on a non-public address.")
        @Argument(help: "The issuer URL, exactly as its tokens carry it.") var issuer: String
        @Option(help: "PEM file of the CA that signed the issuer's TLS certificate, when no public CA did.") var ca: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var body: [String: JSONValue] = ["issuer": .string(issuer)]
            if let ca {
                guard let pem = try? String(contentsOfFile: ca, encoding: .utf8) else { throw CLIError("cannot read the CA file \(ca)") }
                body["caCertificate"] = .string(pem)
            }
            try await runAdmin { client in
                let trusted = try await client.call("POST", "trustedIssuers", json: .object(body))
                if output.json { Output.json(trusted) } else { print("Trusting \(issuer)\(ca == nil ? "" : " (CA from \(ca!))").") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List trusted issuers.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", "trustedIssuers")
                if output.json { return Output.json(list) }
                Output.table(
                    ["ISSUER", "OWN CA", "SINCE"],
                    (list["value"].arrayValue ?? []).map { [$0["issuer"].text, $0["caCertificate"] == .null ? "no" : "yes", $0["createdDateTime"].text] })
            }
        }
    }

    struct Untrust: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop trusting an issuer.")
        @Argument var issuer: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", "trustedIssuers", query: [("issuer", issuer)])
                if output.json { Output.json(["untrusted": .string(issuer)]) } else { print("No longer trusting \(issuer).") }
            }
        }
    }
}
