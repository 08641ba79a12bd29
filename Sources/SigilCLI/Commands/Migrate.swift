import ArgumentParser
import Foundation
import SigilCore

/// `sigil migrate`: walks one app off its client secrets (DESIGN §8).
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move an app off its client secrets: plan, apply the replacement, watch, finish (disable the secrets), roll back.",
        subcommands: [Plan.self, Apply.self, Status.self, Finish.self, Rollback.self])

    static func path(_ app: String, _ leaf: String = "") -> String { "migrations/" + FormParameters.percentEncode(app) + leaf }

    static func printMigration(_ migration: JSONValue) {
        Output.fields([
            ("app", migration["appId"].text), ("state", migration["state"].text), ("replacement", migration["replacement"]["displayName"].text),
            ("secrets", migration["secretKeyIds"].text), ("applied", migration["appliedDateTime"].text),
            ("finished", migration["finishedDateTime"].text), ("delete after", migration["deleteAfterDateTime"].text),
        ])
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Propose what replaces each client secret of APP, from where and by what it is used, with the evidence.")
        @Argument(help: "The application (name, appId, objectId or identifier URI).") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let plan = try await client.call("GET", Migrate.path(app, "/plan"))
                if output.json { return Output.json(plan) }
                for secret in plan["secrets"].arrayValue ?? [] {
                    let proposal = secret["proposal"]
                    print("secret \(secret["keyId"].text) (\(secret["displayName"].text)): \(secret["signIns"].text) sign-ins, last \(secret["lastUsedDateTime"].text)")
                    print("  used from: \(secret["networks"].text); user agents: \(secret["userAgents"].text)")
                    print("  replace with: \(proposal["kind"].text)")
                    for fact in proposal["evidence"].arrayValue ?? [] { print("  because \(fact.text)") }
                    switch proposal["kind"].stringValue {
                    case "managedIdentity":
                        print("  next: sigil migrate apply '\(plan["appDisplayName"].text)' --managed-identity NAME --host \(proposal["hostName"].text)")
                    case "federatedCredential":
                        let known = proposal["subjectKnown"].boolValue == true ? "" : "   # fill in the <PLACEHOLDERS>"
                        print("  next: sigil migrate apply '\(plan["appDisplayName"].text)' --issuer \(proposal["issuer"].text) --subject '\(proposal["subject"].text)'\(known)")
                    default:
                        for name in ["openssl", "python", "msal"] {
                            guard let snippet = proposal["snippets"][name].stringValue else { continue }
                            print("  \(name):")
                            for line in snippet.split(separator: "\n", omittingEmptySubsequences: false) { print("    " + line) }
                        }
                    }
                }
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the replacement (a certificate, a federated credential, or a managed identity on a host) and start watching it.")
        @Argument(help: "The application (name, appId, objectId or identifier URI).") var app: String
        @Option(help: "A certificate (PEM or DER) made on the workload's machine: the replacement is that certificate.") var cert: String?
        @Option(help: "The issuer of the workload's tokens: the replacement is a federated credential.") var issuer: String?
        @Option(help: "With --issuer: the exact subject the tokens carry.") var subject: String?
        @Option(help: "With --issuer: the federated credential's name.") var name = "migrated"
        @Option(name: .customLong("managed-identity"), help: "A user-assigned managed identity (created if missing) that replaces the app's secret.") var managedIdentity: String?
        @Option(help: "With --managed-identity: the host whose agent hands it out.") var host: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                // Checked before the replacement is created, so a refused apply leaves nothing behind.
                if let existing = try? await client.call("GET", Migrate.path(app)), let state = existing["state"].stringValue,
                    state == "applied" || state == "finished"
                {
                    throw CLIError("app '\(app)' already has a migration that is \(state); finish it or roll it back first (sigil migrate status shows it)")
                }
                let secrets = try await client.call("GET", App.path(app))["passwordCredentials"].arrayValue ?? []
                guard secrets.contains(where: { $0["revokedDateTime"] == .null }) else {
                    throw CLIError("app '\(app)' has no client secret left to replace")
                }
                let body: JSONValue
                switch (cert, issuer, managedIdentity) {
                case let (file?, nil, nil):
                    let key = try await client.call("POST", App.path(app) + "/keyCredentials", json: [
                        "type": "AsymmetricX509Cert", "key": .string(try App.certificatePEM(file)), "displayName": "migrated from secret",
                    ])
                    body = ["kind": "certificate", "credentialId": key["keyId"]]
                case let (nil, issuer?, nil):
                    guard let subject else { throw CLIError("--issuer needs --subject: the subject the workload's tokens carry (sigil migrate plan shows it)") }
                    let fic = try await client.call("POST", App.path(app) + "/federatedIdentityCredentials", json: [
                        "name": .string(name), "issuer": .string(issuer), "subject": .string(subject),
                    ])
                    body = ["kind": "federatedCredential", "credentialId": fic["id"]]
                case let (nil, nil, identity?):
                    guard let host else { throw CLIError("--managed-identity needs --host: the host whose agent hands it out (sigil migrate plan shows it)") }
                    if (try? await client.call("GET", ManagedIdentity.path(identity))) == nil {
                        _ = try await client.call("POST", "managedIdentities", json: ["displayName": .string(identity)])
                    }
                    _ = try await client.call("POST", Host.path(host) + "/identities", json: ["identity": .string(identity)])
                    body = ["kind": "managedIdentity", "managedIdentity": .string(identity)]
                default:
                    throw CLIError("give exactly one of --cert FILE, --issuer URL --subject SUB, or --managed-identity NAME --host HOST")
                }
                let migration = try await client.call("POST", Migrate.path(app, "/apply"), json: body)
                if output.json { return Output.json(migration) }
                Migrate.printMigration(migration)
                print("Now switch the app's configuration to the replacement; `sigil migrate status \(app)` shows which credential it signs in with.")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The migration's state, and sign-ins per credential since the replacement was applied.")
        @Argument(help: "The application (name, appId, objectId or identifier URI).") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let status = try await client.call("GET", Migrate.path(app))
                if output.json { return Output.json(status) }
                Migrate.printMigration(status)
                print()
                Output.table(
                    ["ROLE", "TYPE", "CREDENTIAL", "RESULT", "SIGN-INS", "LAST"],
                    (status["signInsSinceApplied"].arrayValue ?? []).map {
                        [$0["role"].text, $0["credentialType"].text, $0["credentialId"].text, $0["succeeded"].boolValue == true ? "success" : "failure",
                         $0["signIns"].text, $0["lastDateTime"].text]
                    })
            }
        }
    }

    struct Finish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable the replaced secrets once unused for the soak period while the replacement works; with --delete, delete them.")
        @Argument(help: "The application (name, appId, objectId or identifier URI).") var app: String
        @Option(help: "How long the secrets must have gone unused, ISO-8601 (P7D, PT30S).") var soak = "P7D"
        @Option(help: "How long disabled secrets are kept before they are deleted, ISO-8601.") var retention = "P30D"
        @Flag(help: "Delete the disabled secrets of a finished migration now.") var delete = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let body: JSONValue = delete ? ["delete": true] : ["soak": .string(soak), "retention": .string(retention)]
                let migration = try await client.call("POST", Migrate.path(app, "/finish"), json: body)
                if output.json { return Output.json(migration) }
                Migrate.printMigration(migration)
            }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable the secrets a finish disabled, at once.")
        @Argument(help: "The application (name, appId, objectId or identifier URI).") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let migration = try await client.call("POST", Migrate.path(app, "/rollback"))
                if output.json { return Output.json(migration) }
                Migrate.printMigration(migration)
            }
        }
    }
}
