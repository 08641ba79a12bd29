import ArgumentParser
import Foundation
import SigilCore

extension App {
    struct Secret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Client secrets (legacy: prefer a certificate, a key or a federated credential).", subcommands: [Add.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a client secret; it is printed once and never again.")
            @Argument var app: String
            @Option(help: "How long it stays valid, ISO-8601 (P90D, PT12H); at most P2Y.") var lifetime = "P180D"
            @Option(help: "A name to tell secrets apart.") var name: String?
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    var body: [String: JSONValue] = ["lifetime": .string(lifetime)]
                    if let name { body["displayName"] = .string(name) }
                    let credential = try await client.call("POST", App.path(app) + "/passwordCredentials", json: .object(body))
                    if output.json { return Output.json(credential) }
                    Output.fields([
                        ("keyId", credential["keyId"].text), ("endDateTime", credential["endDateTime"].text),
                        ("secretText", credential["secretText"].text),
                    ])
                    print("\nStore the secret now: Sigil keeps only its hash and will not show it again.")
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a client secret; it stops working at once.")
            @Argument var app: String
            @Argument(help: "The secret's keyId.") var keyId: String
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    try await client.call("DELETE", App.path(app) + "/passwordCredentials/" + FormParameters.percentEncode(keyId))
                    if output.json { Output.json(["removed": .string(keyId)]) } else { print("Removed secret \(keyId).") }
                }
            }
        }
    }

    struct Cert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Certificates the app signs client assertions with.", subcommands: [Add.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register an X.509 certificate (PEM; the private key stays with the app).")
            @Argument var app: String
            @Option(help: "PEM file with the certificate.") var cert: String
            @Option(help: "A name for the credential.") var name: String?
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await App.addKey(app, name: name, output) {
                    return ("AsymmetricX509Cert", .string(try App.certificatePEM(cert)))
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a certificate.")
            @Argument var app: String
            @Argument(help: "The credential's keyId.") var keyId: String
            @OptionGroup var output: OutputOptions
            func run() async throws { try await App.removeKey(app, keyId, output) }
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bare public keys (JWK) the app signs client assertions with.", subcommands: [Add.self, Create.self, Remove.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a key pair here, register only its public key, and write a key file (0600) that `sigil login --key` takes.")
            @Argument var app: String
            @Option(help: "Where to write the key file; it must not exist.") var out: String
            @Option(help: "A name for the credential.") var name: String?
            @Option(help: "How long the key stays valid, ISO-8601 (P90D); default: no end.") var lifetime: String?
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    let path = URL(fileURLWithPath: out).standardizedFileURL.path
                    guard !FileManager.default.fileExists(atPath: path) else { throw CLIError("\(path) exists already; write the key file somewhere new") }
                    let (file, credential, _) = try await KeyFiles.mint(
                        on: app, name: name ?? "key file \(Date().formatted(.iso8601))", lifetime: lifetime, with: client)
                    try KeyFiles.write(file, to: path)
                    if output.json { return Output.json(credential) }
                    App.printKey(credential, output)
                    print("\nThe private key is in \(path) (0600) and nowhere else: `sigil login --server URL --key \(path)` signs in as \(app) with the roles it holds.")
                }
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Register a public JWK (EC P-256 or RSA ≥ 2048).")
            @Argument var app: String
            @Option(help: "File with the public JWK as JSON.") var jwk: String
            @Option(help: "A name for the credential.") var name: String?
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await App.addKey(app, name: name, output) {
                    guard let data = FileManager.default.contents(atPath: jwk) else { throw CLIError("cannot read \(jwk)") }
                    do {
                        return ("Jwk", .object(try JSONParser.parseObject(Array(data))))
                    } catch {
                        throw CLIError("\(jwk) is not a JSON object: \(error)")
                    }
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a key.")
            @Argument var app: String
            @Argument(help: "The credential's keyId.") var keyId: String
            @OptionGroup var output: OutputOptions
            func run() async throws { try await App.removeKey(app, keyId, output) }
        }
    }

    /// Registers the key credential `read` produces (its type and key), under an optional name.
    static func addKey(_ app: String, name: String?, _ output: OutputOptions, read: () throws -> (type: String, key: JSONValue)) async throws {
        try await runAdmin { client in
            let (type, key) = try read()
            var body: [String: JSONValue] = ["type": .string(type), "key": key]
            if let name { body["displayName"] = .string(name) }
            printKey(try await client.call("POST", App.path(app) + "/keyCredentials", json: .object(body)), output)
        }
    }

    /// The certificate in `file`, as PEM, and nothing else from it: a PEM certificate, the
    /// certificate block of a combined key-and-certificate PEM (the private key is never sent),
    /// or a DER certificate. A file holding only a private key is refused with what to pass.
    static func certificatePEM(_ file: String) throws -> String { try certificatePEMs(file)[0] }

    /// Every certificate in `file` (a PEM bundle, or one DER certificate), as PEM, in order.
    static func certificatePEMs(_ file: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        guard let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN ") else {
            // Not PEM: a DER certificate, sent in PEM armour (the server says so if it is not one).
            let body = data.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            return ["-----BEGIN CERTIFICATE-----\n\(body)\n-----END CERTIFICATE-----\n"]
        }
        let blocks = text.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().compactMap { block in
            block.range(of: "-----END CERTIFICATE-----").map { "-----BEGIN CERTIFICATE-----" + block[..<$0.upperBound] + "\n" }
        }
        guard !blocks.isEmpty else {
            if text.contains("PRIVATE KEY-----") {
                throw CLIError("\(file) is a private key; pass the certificate (the private key stays with the app)")
            }
            throw CLIError("\(file) holds no certificate (no -----BEGIN CERTIFICATE----- block)")
        }
        return blocks
    }

    static func printKey(_ credential: JSONValue, _ output: OutputOptions) {
        if output.json { return Output.json(credential) }
        Output.fields([
            ("keyId", credential["keyId"].text), ("type", credential["type"].text), ("kid", credential["kid"].text),
            ("x5t", credential["x5t"].text), ("x5t#S256", credential["x5t#S256"].text), ("endDateTime", credential["endDateTime"].text),
        ])
    }

    static func removeKey(_ app: String, _ keyId: String, _ output: OutputOptions) async throws {
        try await runAdmin { client in
            try await client.call("DELETE", App.path(app) + "/keyCredentials/" + FormParameters.percentEncode(keyId))
            if output.json { Output.json(["removed": .string(keyId)]) } else { print("Removed key credential \(keyId).") }
        }
    }

    struct Role: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Roles an application exposes to callers.", subcommands: [Add.self, Remove.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add an app role to a resource application.")
            @Argument(help: "The resource application.") var resource: String
            @Argument(help: "The role's value, as it appears in the roles claim.") var role: String
            @Option(help: "What the role allows.") var description: String?
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    var body: [String: JSONValue] = ["value": .string(role)]
                    if let description { body["description"] = .string(description) }
                    let created = try await client.call("POST", App.path(resource) + "/appRoles", json: .object(body))
                    if output.json { Output.json(created) } else { print("Added role \(created["value"].text) (\(created["id"].text)) to \(resource).") }
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove an app role nobody holds (remove its grants first).")
            @Argument(help: "The resource application.") var resource: String
            @Argument(help: "The role's value or id.") var role: String
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { client in
                    try await client.call("DELETE", App.path(resource) + "/appRoles/" + FormParameters.percentEncode(role))
                    if output.json { Output.json(["removed": .string(role)]) } else { print("Removed role \(role) from \(resource).") }
                }
            }
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant roles of a resource application to clients and managed identities, or remove them.",
            subcommands: [Add.self, Remove.self], defaultSubcommand: Add.self)

        /// Who holds which role of what: the same three arguments to grant and to remove.
        struct Arguments: ParsableArguments {
            @Argument(help: "The client application or managed identity.") var client: String
            @Argument(help: "The resource application.") var resource: String
            @Argument(help: "The role's value or id.") var role: String
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Grant a client application or managed identity one role of a resource application (the default).")
            @OptionGroup var grant: Grant.Arguments
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try await runAdmin { admin in
                    let assignment = try await admin.call("POST", "appRoleAssignments", json: [
                        "principalId": .string(grant.client), "resourceId": .string(grant.resource), "appRoleId": .string(grant.role),
                    ])
                    if output.json { return Output.json(assignment) }
                    print("Granted \(assignment["appRoleValue"].text) of \(assignment["resourceDisplayName"].text) to \(assignment["principalDisplayName"].text).")
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a grant; the client's next token no longer carries the role.")
            @OptionGroup var grant: Grant.Arguments
            @OptionGroup var output: OutputOptions

            func run() async throws {
                let (client, resource, role) = (grant.client, grant.resource, grant.role)
                try await runAdmin { admin in
                    let resourceApp = try await admin.call("GET", App.path(resource))
                    // The client by any of its names: its service principal id, whichever kind it is.
                    var principals: Set<String> = [client]
                    if let app = try? await admin.call("GET", App.path(client)) { principals.insert(app["servicePrincipalId"].text) }
                    if let identity = try? await admin.call("GET", "managedIdentities/" + FormParameters.percentEncode(client)) {
                        principals.insert(identity["principalId"].text)
                    }
                    let assignments = try await admin.call("GET", App.path(resource) + "/appRoleAssignments")["value"].arrayValue ?? []
                    guard let assignment = assignments.first(where: {
                        $0["resourceId"].text == resourceApp["servicePrincipalId"].text && ($0["appRoleValue"].text == role || $0["appRoleId"].text == role)
                            && (principals.contains($0["principalId"].text) || $0["principalDisplayName"].text.lowercased() == client.lowercased())
                    }) else {
                        throw CLIError("\(client) holds no role '\(role)' of \(resourceApp["displayName"].text); `sigil app show \(resource)` lists its grants")
                    }
                    try await admin.call("DELETE", "appRoleAssignments/" + FormParameters.percentEncode(assignment["id"].text))
                    if output.json { return Output.json(["removed": assignment]) }
                    print("Removed \(assignment["appRoleValue"].text) of \(assignment["resourceDisplayName"].text) from \(assignment["principalDisplayName"].text).")
                }
            }
        }
    }
}
