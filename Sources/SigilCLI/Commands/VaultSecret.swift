import ArgumentParser
import Foundation
import SigilCore

/// `sigil vault secret …`: secrets through the Key Vault API. Values are read from standard input
/// or a file, never from an argument (arguments show in `ps`), and kept byte for byte: no
/// trailing newline is added or removed (`printf %s VALUE |`, not `echo`).
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret", abstract: "Secrets in a vault: set, read, list, delete, recover, purge.",
        subcommands: [Set.self, Get.self, List.self, Versions.self, Delete.self, Recover.self, Purge.self])

    /// Every item of a listing, following `nextLink` through its pages.
    static func all(_ vault: VaultClient, _ vaultName: String, _ path: String) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var query: [(String, String)] = []
        while true {
            let page = try await vault.call("GET", vault: vaultName, path, query: query)
            items += page["value"].arrayValue ?? []
            guard let next = page["nextLink"].stringValue, let token = URLComponents(string: next)?.queryItems?.first(where: { $0.name == "$skiptoken" })?.value
            else { return items }
            query = [("$skiptoken", token)]
        }
    }

    /// The time of an `attributes` member (epoch seconds), as RFC 3339 text.
    static func time(_ attributes: JSONValue, _ name: String) -> String {
        guard let seconds = attributes[name].integerValue else { return "-" }
        return Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
    }

    /// The last path segment of an id (a version, or a name).
    static func lastSegment(_ id: JSONValue) -> String { id.stringValue?.split(separator: "/").last.map(String.init) ?? "-" }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a version to a secret, reading the value from standard input or --file (never from an argument).")
        @Argument(help: "VAULT/NAME.") var secret: SecretReference
        @Option(help: "Read the value from this file instead of standard input.") var file: String?
        @Option(name: .customLong("content-type"), help: "What the value is, e.g. text/plain or a connection string's type.") var contentType: String?
        @Option(name: .customLong("tag"), help: "A tag NAME=VALUE; repeat for several (at most 15).") var tags: [String] = []
        @Option(help: "When the version stops being readable (RFC 3339).") var expires: String?
        @Option(name: .customLong("not-before"), help: "When the version starts being readable (RFC 3339).") var notBefore: String?
        @Flag(help: "Store the version disabled.") var disabled = false
        @OptionGroup var output: OutputOptions

        func validate() throws {
            for tag in tags where !tag.contains("=") { throw ValidationError("--tag must be NAME=VALUE, not '\(tag)'") }
            for (flag, text) in [("expires", expires), ("not-before", notBefore)] {
                if let text, RFC3339.date(text) == nil { throw ValidationError("--\(flag) must be an RFC 3339 time such as 2027-01-31T00:00:00Z") }
            }
        }

        func run() async throws {
            try await runAdmin { client in
                let data: Data
                if let file {
                    guard let read = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
                    data = read
                } else {
                    if isatty(0) == 1 { FileHandle.standardError.write(Data("Reading the value from standard input; end it with Ctrl-D.\n".utf8)) }
                    data = FileHandle.standardInput.readDataToEndOfFile()
                }
                guard let value = String(data: data, encoding: .utf8) else {
                    throw CLIError("the value is not UTF-8 text; base64-encode binary values and set --content-type application/octet-stream;base64")
                }
                var body: [String: JSONValue] = ["value": .string(value)]
                if let contentType { body["contentType"] = .string(contentType) }
                if !tags.isEmpty {
                    body["tags"] = .object(Dictionary(tags.map { tag in
                        let parts = tag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                        return (String(parts[0]), JSONValue.string(String(parts[1])))
                    }, uniquingKeysWith: { _, last in last }))
                }
                var attributes: [String: JSONValue] = [:]
                if disabled { attributes["enabled"] = false }
                if let expires { attributes["exp"] = .integer(Int64(RFC3339.date(expires)!.timeIntervalSince1970)) }
                if let notBefore { attributes["nbf"] = .integer(Int64(RFC3339.date(notBefore)!.timeIntervalSince1970)) }
                if !attributes.isEmpty { body["attributes"] = .object(attributes) }
                var bundle = try await VaultClient(client: client).call("PUT", vault: secret.vault, secret.path, json: .object(body))
                // The value was the caller's to begin with: it is not printed back.
                if case .object(var object) = bundle { object["value"] = nil; bundle = .object(object) }
                if output.json { return Output.json(bundle) }
                print("Set \(secret.vault)/\(secret.name), version \(SecretCommand.lastSegment(bundle["id"])).")
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a secret's value (the latest version, or VAULT/NAME/VERSION) exactly as stored.",
            discussion: "A newline is added only when standard output is a terminal. --json prints Key Vault's SecretBundle, value included.")
        @Argument(help: "VAULT/NAME or VAULT/NAME/VERSION.") var secret: SecretReference
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let bundle = try await VaultClient(client: client).call("GET", vault: secret.vault, secret.path)
                if output.json { return Output.json(bundle) }
                FileHandle.standardOutput.write(Data(bundle["value"].text.utf8))
                if isatty(1) == 1 { FileHandle.standardOutput.write(Data("\n".utf8)) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The secrets in a vault (or its deleted ones), without values.")
        @Argument(help: "The vault's name.") var vault: String
        @Flag(help: "List deleted secrets, with when each will be purged.") var deleted = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let items = try await SecretCommand.all(VaultClient(client: client), vault, deleted ? "deletedsecrets" : "secrets")
                if output.json { return Output.json(["value": .array(items)]) }
                if deleted {
                    Output.table(["NAME", "DELETED", "PURGED AFTER"], items.map {
                        [SecretCommand.lastSegment($0["id"]), SecretCommand.time($0, "deletedDate"), SecretCommand.time($0, "scheduledPurgeDate")]
                    })
                } else {
                    Output.table(["NAME", "ENABLED", "CONTENT TYPE", "EXPIRES", "UPDATED"], items.map {
                        [
                            SecretCommand.lastSegment($0["id"]), $0["attributes"]["enabled"].text, $0["contentType"].text,
                            SecretCommand.time($0["attributes"], "exp"), SecretCommand.time($0["attributes"], "updated"),
                        ]
                    })
                }
            }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A secret's versions, oldest first, without values.")
        @Argument(help: "VAULT/NAME.") var secret: SecretReference
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let items = try await SecretCommand.all(VaultClient(client: client), secret.vault, "secrets/\(secret.name)/versions")
                if output.json { return Output.json(["value": .array(items)]) }
                Output.table(["VERSION", "ENABLED", "CREATED", "EXPIRES", "MANAGED"], items.map {
                    [
                        SecretCommand.lastSegment($0["id"]), $0["attributes"]["enabled"].text, SecretCommand.time($0["attributes"], "created"),
                        SecretCommand.time($0["attributes"], "exp"), $0["managed"].boolValue == true ? "yes" : "-",
                    ]
                })
            }
        }
    }

    /// delete, recover and purge: one call each, one line of result.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a secret: it stays recoverable until its vault's retention ends.")
        @Argument(help: "VAULT/NAME.") var secret: SecretReference
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let deleted = try await VaultClient(client: client).call("DELETE", vault: secret.vault, "secrets/\(secret.name)")
                if output.json { return Output.json(deleted) }
                print("Deleted \(secret.vault)/\(secret.name); recoverable until \(SecretCommand.time(deleted, "scheduledPurgeDate")) (`sigil vault secret recover`).")
            }
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bring a deleted secret back, with all its versions.")
        @Argument(help: "VAULT/NAME.") var secret: SecretReference
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let recovered = try await VaultClient(client: client).call("POST", vault: secret.vault, "deletedsecrets/\(secret.name)/recover")
                if output.json { return Output.json(recovered) }
                print("Recovered \(secret.vault)/\(secret.name).")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a deleted secret for good (refused when the vault has purge protection).")
        @Argument(help: "VAULT/NAME.") var secret: SecretReference

        func run() async throws {
            try await runAdmin { client in
                try await VaultClient(client: client).call("DELETE", vault: secret.vault, "deletedsecrets/\(secret.name)")
                print("Purged \(secret.vault)/\(secret.name).")
            }
        }
    }
}
