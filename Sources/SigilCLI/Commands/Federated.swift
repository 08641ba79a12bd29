import ArgumentParser
import Foundation
import SigilCore

/// `sigil app federated …` and `sigil mi federated …`: the same verbs over the federated identity
/// credentials of an application or of a user-assigned managed identity.
protocol FederatedOwner {
    /// The admin API path of the owner named `reference`.
    static func path(_ reference: String) -> String
}

extension App: FederatedOwner {}

struct Federated<Owner: FederatedOwner>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "federated", abstract: "Federated credentials: trust tokens another issuer (a CI system, Kubernetes) gives the workload.",
            subcommands: [Add.self, List.self, Remove.self])
    }

    struct Add: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(abstract: "Trust the tokens ISSUER gives to SUBJECT (or to whatever EXPR accepts).")
        }
        @Argument var owner: String
        @Option(help: "3–120 letters, digits, '-' or '_', unique on this owner.") var name: String
        @Option(help: "The issuer's URL exactly as tokens carry it in 'iss' (https://…).") var issuer: String
        @Option(help: "The exact 'sub' to accept, e.g. repo:ORG/REPO:ref:refs/heads/main or system:serviceaccount:NS:NAME.") var subject: String?
        @Option(name: .customLong("claims-match"), help: "Instead of --subject: claims['sub'] matches 'repo:ORG/*' and claims['X'] eq 'V'.") var claimsMatch: String?
        @Option(help: "The audience tokens must carry.") var audience = FederationRules.defaultAudience
        @Option(help: "What the credential is for.") var description: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                guard (subject == nil) != (claimsMatch == nil) else { throw CLIError("give exactly one of --subject and --claims-match") }
                var body: [String: JSONValue] = ["name": .string(name), "issuer": .string(issuer), "audiences": [.string(audience)]]
                if let subject { body["subject"] = .string(subject) }
                if let claimsMatch { body["claimsMatchingExpression"] = ["value": .string(claimsMatch), "languageVersion": 1] }
                if let description { body["description"] = .string(description) }
                let credential = try await client.call("POST", Owner.path(owner) + "/federatedIdentityCredentials", json: .object(body))
                if output.json { return Output.json(credential) }
                Federated.print([credential])
            }
        }
    }

    struct List: AsyncParsableCommand {
        static var configuration: CommandConfiguration { CommandConfiguration(abstract: "List the federated credentials.") }
        @Argument var owner: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", Owner.path(owner) + "/federatedIdentityCredentials")
                if output.json { return Output.json(list) }
                Federated.print(list["value"].arrayValue ?? [])
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static var configuration: CommandConfiguration { CommandConfiguration(abstract: "Remove a federated credential; its tokens stop working at once.") }
        @Argument var owner: String
        @Argument(help: "The credential's name or id.") var credential: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", Owner.path(owner) + "/federatedIdentityCredentials/" + FormParameters.percentEncode(credential))
                if output.json { Output.json(["removed": .string(credential)]) } else { Swift.print("Removed federated credential \(credential).") }
            }
        }
    }

    static func print(_ credentials: [JSONValue]) {
        Output.table(
            ["NAME", "ISSUER", "SUBJECT / EXPRESSION", "AUDIENCE", "ID"],
            credentials.map { credential in
                let match = credential["subject"].stringValue ?? credential["claimsMatchingExpression"]["value"].text
                return [credential["name"].text, credential["issuer"].text, match, credential["audiences"].text, credential["id"].text]
            })
    }
}
