import ArgumentParser
import Foundation
import SigilCore

/// `sigil vault rotation …`: an app's client secret kept in a vault secret, rotated by Sigil.
struct VaultRotation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotation", abstract: "Rotate an app's client secret kept in a vault secret: mint, write a new version, remove the old one after an overlap.",
        subcommands: [Set.self, Show.self, Remove.self, Rotate.self])

    /// The admin API path of a secret's rotation routes.
    static func path(_ secret: SecretReference, _ leaf: String) throws -> String {
        guard secret.version == nil else { throw CLIError("a rotation policy is the secret's, not a version's: give VAULT/NAME") }
        return "vaults/\(segment(secret.vault))/secrets/\(segment(secret.name))/\(leaf)"
    }

    static func printPolicy(_ policy: JSONValue) {
        Output.fields([
            ("secret", "\(policy["vault"].text)/\(policy["secretName"].text)"), ("application", "\(policy["applicationDisplayName"].text) (\(policy["appId"].text))"),
            ("every", policy["every"].text), ("overlap", policy["overlap"].text), ("state", policy["state"].text),
            ("currentKeyId", policy["currentKeyId"].text), ("retiringKeyId", policy["retiringKeyId"].text),
            ("lastRotation", policy["lastRotationDateTime"].text), ("nextRotation", policy["nextRotationDateTime"].text),
            ("retireAt", policy["retireDateTime"].text), ("lastError", policy["lastError"].text),
        ])
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a vault secret under a rotation policy for an app's client secret (replaces the secret's policy).",
            discussion: """
                When the secret holds one of the app's client secrets now, that one is replaced a period after it was added; \
                otherwise the first rotation writes the secret at once. The app keeps reading the secret from the vault.
                """)
        @Argument(help: "VAULT/NAME of the secret.") var secret: SecretReference
        @Option(help: "The application: name, appId or objectId.") var app: String
        @Option(help: "How often to rotate, as an ISO-8601 duration (e.g. P30D).") var every: String
        @Option(help: "How long the replaced secret stays valid, shorter than --every (e.g. P7D).") var overlap: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let policy = try await client.call(
                    "PUT", try VaultRotation.path(secret, "rotationPolicy"),
                    json: ["application": .string(app), "every": .string(every), "overlap": .string(overlap)])
                if output.json { Output.json(policy) } else { VaultRotation.printPolicy(policy) }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a secret's rotation policy and where its rotation stands.")
        @Argument(help: "VAULT/NAME of the secret.") var secret: SecretReference
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let policy = try await client.call("GET", try VaultRotation.path(secret, "rotationPolicy"))
                if output.json { Output.json(policy) } else { VaultRotation.printPolicy(policy) }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop rotating a secret; the app's client secrets and the vault's versions stay.")
        @Argument(help: "VAULT/NAME of the secret.") var secret: SecretReference
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", try VaultRotation.path(secret, "rotationPolicy"))
                if output.json { Output.json(["removed": .string("\(secret.vault)/\(secret.name)")]) } else { print("Removed the rotation policy of \(secret.vault)/\(secret.name).") }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate now: mint a new client secret and write it as the secret's new version; the old one is removed after the overlap.")
        @Argument(help: "VAULT/NAME of the secret.") var secret: SecretReference
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let policy = try await client.call("POST", try VaultRotation.path(secret, "rotate"))
                if output.json { return Output.json(policy) }
                let retiring = policy["retiringKeyId"].stringValue.map { "; \($0) is removed at \(policy["retireDateTime"].text)" } ?? ""
                print("Rotated \(secret.vault)/\(secret.name): new client secret \(policy["currentKeyId"].text)\(retiring).")
            }
        }
    }
}
