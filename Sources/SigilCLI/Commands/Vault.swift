import ArgumentParser
import Foundation
import SigilCore

/// `sigil vault …`: vaults and the secrets in them (DESIGN §6). Vaults are managed through the
/// admin API; secrets through the Key Vault API under `SERVER/vaults/NAME/`, as any Key Vault
/// client would, with a token for the vault from the CLI profile's admin key.
struct VaultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault", abstract: "Vaults for the secrets that cannot go yet: created here, read with a token instead of a secret.",
        subcommands: [Create.self, List.self, Show.self, Set.self, Delete.self, SecretCommand.self, VaultRotation.self])

    static func printVault(_ vault: JSONValue) {
        Output.fields([
            ("Name", vault["name"].text), ("URI", vault["vaultUri"].text), ("Resource", vault["resource"].text),
            ("Soft-delete retention", vault["softDeleteRetentionInDays"].text + " days"), ("Purge protection", vault["enablePurgeProtection"].text),
            ("Created", vault["createdDateTime"].text),
        ])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a vault, served at https://NAME.VAULT_DOMAIN.")
        @Argument(help: "3–24 letters, digits and hyphens; it becomes a host name.") var name: String
        @Option(name: .customLong("retention-days"), help: "How long deleted secrets stay recoverable: 7 to 90 days.") var retentionDays = 90
        @Flag(name: .customLong("purge-protection"), help: "Deleted secrets can only expire, never be purged early. Cannot be turned off.")
        var purgeProtection = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let vault = try await client.call("POST", "vaults", json: [
                    "name": .string(name), "softDeleteRetentionInDays": .integer(Int64(retentionDays)), "enablePurgeProtection": .bool(purgeProtection),
                ])
                if output.json { return Output.json(vault) }
                print("Created vault \(vault["name"].text) at \(vault["vaultUri"].text).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tenant's vaults.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let vaults = try await client.call("GET", "vaults")
                if output.json { return Output.json(vaults) }
                Output.table(
                    ["NAME", "URI", "RETENTION", "PURGE PROTECTION"],
                    (vaults["value"].arrayValue ?? []).map {
                        [$0["name"].text, $0["vaultUri"].text, $0["softDeleteRetentionInDays"].text + "d", $0["enablePurgeProtection"].text]
                    })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One vault.")
        @Argument(help: "The vault's name.") var name: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let vault = try await client.call("GET", "vaults/\(Self.segment(name))")
                if output.json { return Output.json(vault) }
                VaultCommand.printVault(vault)
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a vault's retention, or turn purge protection on (it cannot be turned off).")
        @Argument(help: "The vault's name.") var name: String
        @Option(name: .customLong("retention-days"), help: "7 to 90 days.") var retentionDays: Int?
        @Flag(name: .customLong("purge-protection"), help: "Turn purge protection on.") var purgeProtection = false
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if retentionDays == nil, !purgeProtection { throw ValidationError("Give --retention-days or --purge-protection.") }
        }

        func run() async throws {
            try await runAdmin { client in
                var body: [String: JSONValue] = [:]
                if let retentionDays { body["softDeleteRetentionInDays"] = .integer(Int64(retentionDays)) }
                if purgeProtection { body["enablePurgeProtection"] = true }
                let vault = try await client.call("PATCH", "vaults/\(Self.segment(name))", json: .object(body))
                if output.json { return Output.json(vault) }
                VaultCommand.printVault(vault)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an empty vault (its secrets, deleted ones included, must be gone first).")
        @Argument(help: "The vault's name.") var name: String

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", "vaults/\(Self.segment(name))")
                print("Deleted vault \(name).")
            }
        }
    }
}

extension ParsableCommand {
    /// A name as one percent-encoded path segment.
    static func segment(_ name: String) -> String { name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name }
}

/// A `VAULT/NAME[/VERSION]` reference to a secret.
struct SecretReference: ExpressibleByArgument {
    let vault: String
    let name: String
    let version: String?

    init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }),
            (try? VaultRules.checkVaultName(parts[0])) != nil, (try? VaultRules.checkSecretName(parts[1])) != nil,
            parts.count == 2 || VaultRules.isVersion(parts[2])
        else { return nil }
        (vault, name, version) = (parts[0], parts[1], parts.count == 3 ? parts[2] : nil)
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// `secrets/NAME[/VERSION]`.
    var path: String { "secrets/\(name)" + (version.map { "/" + $0 } ?? "") }
}
