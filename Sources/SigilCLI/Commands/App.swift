import ArgumentParser
import Foundation
import SigilCore

struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage applications: their secrets, certificates, keys, roles and grants.",
        subcommands: [
            Create.self, List.self, Show.self, Delete.self, Enable.self, Disable.self, Secret.self, Cert.self, Key.self,
            Federated<App>.self, Role.self, Grant.self,
        ])

    /// Percent-encodes an application reference (name, appId, URI) for a URL path.
    static func path(_ reference: String) -> String { "applications/" + FormParameters.percentEncode(reference) }

    static func printApplication(_ app: JSONValue) {
        Output.fields([
            ("displayName", app["displayName"].text), ("appId", app["appId"].text), ("objectId", app["objectId"].text),
            ("servicePrincipalId", app["servicePrincipalId"].text), ("identifierUris", app["identifierUris"].text),
            ("appRoles", app["appRoles"].arrayValue.flatMap { $0.isEmpty ? nil : $0.map { $0["value"].text }.joined(separator: ",") } ?? "-"),
            ("appRoleAssignmentRequired", app["appRoleAssignmentRequired"].text), ("accountEnabled", app["accountEnabled"].text),
            ("accessTokenSigningAlgorithm", app["accessTokenSigningAlgorithm"].text),
            ("riskLevel", app["riskLevel"].text), ("riskState", app["riskState"].text),
        ])
        let passwords = app["passwordCredentials"].arrayValue ?? []
        let keys = app["keyCredentials"].arrayValue ?? []
        if !passwords.isEmpty || !keys.isEmpty {
            print("")
            Output.table(
                ["KIND", "KEY ID", "NAME", "HINT/KID", "EXPIRES", "REVOKED"],
                passwords.map {
                    ["secret", $0["keyId"].text, $0["displayName"].text, $0["hint"].text + "…", expiry($0), $0["revokedDateTime"].text]
                } + keys.map { [$0["type"].text, $0["keyId"].text, $0["displayName"].text, $0["kid"].text, expiry($0), "-"] })
            let expired = (passwords + keys).filter { isExpired($0) }.count
            if expired > 0 {
                print("\n\(expired) \(expired == 1 ? "credential has" : "credentials have") expired and no longer \(expired == 1 ? "signs" : "sign") in; remove \(expired == 1 ? "it" : "them") when nothing uses \(expired == 1 ? "it" : "them").")
            }
            if let reason = passwords.lazy.compactMap({ $0["revokedReason"].stringValue }).first {
                print("\nA revoked secret no longer signs in. \(reason) Add a new credential (a certificate or federated credential, not a secret) and remove the revoked one.")
            }
        }
    }

    /// A credential's end date, marked when it has passed.
    static func expiry(_ credential: JSONValue) -> String {
        credential["endDateTime"].text + (isExpired(credential) ? " (expired)" : "")
    }

    static func isExpired(_ credential: JSONValue, now: Date = Date()) -> Bool {
        guard let text = credential["endDateTime"].stringValue, let end = try? Date(text, strategy: .iso8601) else { return false }
        return end <= now
    }

    /// The roles the application holds and the roles others hold of it.
    static func printGrants(_ grants: [JSONValue]) {
        guard !grants.isEmpty else { return }
        print("")
        Output.table(
            ["GRANT ID", "CLIENT", "ROLE", "RESOURCE", "GRANTED"],
            grants.map { [$0["id"].text, $0["principalDisplayName"].text, $0["appRoleValue"].text, $0["resourceDisplayName"].text, $0["createdDateTime"].text] })
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an application (and its service principal).")
        @Argument(help: "Display name, unique in the tenant.") var name: String
        @Option(name: .customLong("identifier-uri"), help: "App ID URI (api://…) clients use in scope=URI/.default.") var identifierUris: [String] = []
        @Flag(name: .customLong("role-required"), help: "Issue tokens for this app only to callers holding one of its roles.") var roleRequired = false
        @Option(name: .customLong("token-alg"), help: "Algorithm of tokens issued for this app as a resource: ES256 or RS256.") var tokenAlgorithm = "ES256"
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let app = try await client.call("POST", "applications", json: [
                    "displayName": .string(name), "identifierUris": .array(identifierUris.map(JSONValue.string)),
                    "appRoleAssignmentRequired": .bool(roleRequired), "accessTokenSigningAlgorithm": .string(tokenAlgorithm),
                ])
                if output.json { Output.json(app) } else { App.printApplication(app) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applications.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let apps = try await client.call("GET", "applications")
                if output.json { return Output.json(apps) }
                Output.table(
                    ["NAME", "APP ID", "IDENTIFIER URIS", "ENABLED"],
                    (apps["value"].arrayValue ?? []).map { [$0["displayName"].text, $0["appId"].text, $0["identifierUris"].text, $0["accountEnabled"].text] })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an application with its credentials (never their secret values).")
        @Argument(help: "Name, appId, objectId or identifier URI.") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let found = try await client.call("GET", App.path(app))
                let grants = try await client.call("GET", App.path(app) + "/appRoleAssignments")["value"]
                if output.json {
                    var object = found.objectValue ?? [:]
                    object["appRoleAssignments"] = grants
                    return Output.json(.object(object))
                }
                App.printApplication(found)
                App.printGrants(grants.arrayValue ?? [])
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an application with its credentials and grants.")
        @Argument(help: "Name, appId, objectId or identifier URI.") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", App.path(app))
                if output.json { Output.json(["deleted": .string(app)]) } else { print("Deleted \(app).") }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let an application sign in again.")
        @Argument var app: String
        @OptionGroup var output: OutputOptions
        func run() async throws { try await App.setEnabled(app, true, output) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop an application from getting tokens (its credentials stay).")
        @Argument var app: String
        @OptionGroup var output: OutputOptions
        func run() async throws { try await App.setEnabled(app, false, output) }
    }

    static func setEnabled(_ app: String, _ enabled: Bool, _ output: OutputOptions) async throws {
        try await runAdmin { client in
            let updated = try await client.call("PATCH", App.path(app), json: ["accountEnabled": .bool(enabled)])
            if output.json { Output.json(updated) } else { print("\(updated["displayName"].text) is \(enabled ? "enabled" : "disabled").") }
        }
    }
}
