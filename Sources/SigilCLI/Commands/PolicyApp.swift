import ArgumentParser
import Foundation
import SigilCore

/// `sigil policy app …`: app management policies, the tenant default and per-app ones.
struct PolicyApp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app", abstract: "App management policies: which credentials apps may add (a per-app policy replaces the default).",
        subcommands: [Show.self, SetPolicy.self, Assign.self, Unassign.self, Report.self])

    static let defaultPath = "policies/defaultAppManagementPolicy"
    static let policiesPath = "policies/appManagementPolicies"

    static func policyPath(_ reference: String) -> String { policiesPath + "/" + FormParameters.percentEncode(reference) }

    /// The restrictions member of a policy: `applicationRestrictions` for the default, `restrictions` otherwise.
    static func restrictionsField(_ policy: JSONValue) -> String {
        policy["applicationRestrictions"] == .null ? "restrictions" : "applicationRestrictions"
    }

    static func printPolicy(_ policy: JSONValue) {
        Output.fields([
            ("id", policy["id"].text), ("displayName", policy["displayName"].text), ("isEnabled", policy["isEnabled"].text),
            ("description", policy["description"].text),
        ])
        let restrictions = policy[restrictionsField(policy)]
        let rows = ["passwordCredentials", "keyCredentials"].flatMap { restrictions[$0].arrayValue ?? [] }.map { entry in
            [
                entry["restrictionType"].text, entry["state"].text, entry["maxLifetime"].text, entry["restrictForAppsCreatedAfterDateTime"].text,
                entry["trustedCertificateAuthorities"].arrayValue.map { "\($0.count) CA certificate(s)" } ?? "-",
            ]
        }
        print("")
        if rows.isEmpty { return print("No restrictions: apps may add any credential.") }
        Output.table(["RESTRICTION", "STATE", "MAX LIFETIME", "APPS CREATED AFTER", "TRUSTED CAS"], rows)
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the policy in force for an app (its own, or the default), or the default.")
        @Option(help: "The application whose policy in force to show.") var app: String?
        @Option(help: "A per-app policy, by id or display name.") var id: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                guard app == nil || id == nil else { throw CLIError("give --app or --id, not both") }
                let path = app.map { App.path($0) + "/appManagementPolicy" } ?? id.map(PolicyApp.policyPath) ?? PolicyApp.defaultPath
                let policy = try await client.call("GET", path)
                if output.json { return Output.json(policy) }
                PolicyApp.printPolicy(policy)
            }
        }
    }

    struct SetPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Create or change a policy: the default, a per-app policy (--id), or the app's own (--app: created and assigned when it has none).",
            discussion: "--file takes the policy as JSON in Graph's shape (restrictions or applicationRestrictions); the flags then change "
                + "single restrictions. --allow-secrets lifts the block on client secrets and is audited as its own change.")
        @Option(help: "The application whose own policy to create or change (it is assigned to the app).") var app: String?
        @Option(help: "A per-app policy to change, by id or display name.") var id: String?
        @Option(help: "A JSON file with the policy (displayName, description, isEnabled, restrictions).") var file: String?
        @Flag(help: "Let apps add client secrets (turns the passwordAddition restriction off).") var allowSecrets = false
        @Flag(help: "Refuse new client secrets (turns passwordAddition on; for every app unless --created-after says otherwise).") var blockSecrets = false
        @Flag(help: "Refuse client-chosen secret values (customPasswordAddition); generated ones stay allowed.") var blockCustomSecrets = false
        @Option(help: "Longest a new client secret may last, ISO-8601 (passwordLifetime), e.g. P90D.") var maxSecretLifetime: String?
        @Option(help: "Longest a new certificate or key may last, ISO-8601 (asymmetricKeyLifetime).") var maxKeyLifetime: String?
        @Option(help: "A PEM file of CA certificates new certificates must be issued by (trustedCertificateAuthority); repeat for several.")
        var trustedCa: [String] = []
        @Option(help: "Restrict only apps created after this date-time (for the restrictions these flags set), e.g. 2026-01-01T00:00:00Z.")
        var createdAfter: String?
        @Flag(inversion: .prefixedEnableDisable, help: "Switch the whole policy on or off.") var policy: Bool?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard app == nil || id == nil else { throw ValidationError("give --app or --id, not both") }
            guard !(allowSecrets && blockSecrets) else { throw ValidationError("give --allow-secrets or --block-secrets, not both") }
        }

        func run() async throws {
            try await runAdmin { client in
                var (path, current, create) = try await target(client)
                var body: [String: JSONValue] = [:]
                if let file { body = try Self.read(file, restrictionsField: PolicyApp.restrictionsField(current)) }
                if let policy { body["isEnabled"] = .bool(policy) }
                let field = PolicyApp.restrictionsField(current)
                var restrictions = body[field]?.objectValue ?? current[field].objectValue ?? [:]
                try change(&restrictions)
                body[field] = .object(restrictions)
                if create, let app {
                    let name = try await client.call("GET", App.path(app))["displayName"].text
                    body["displayName"] = body["displayName"] ?? .string("App management policy for \(name)")
                    current = try await client.call("POST", PolicyApp.policiesPath, json: .object(body))
                    current = try await client.call("PUT", App.path(app) + "/appManagementPolicy", json: ["id": current["id"]])
                    path = PolicyApp.policyPath(current["id"].text)
                } else {
                    current = try await client.call("PATCH", path, json: .object(body))
                }
                if output.json { return Output.json(current) }
                PolicyApp.printPolicy(current)
            }
        }

        /// The policy to change: its path, what it is now, and whether it must be created (an app without its own).
        func target(_ client: AdminClient) async throws -> (path: String, current: JSONValue, create: Bool) {
            if let id { return (PolicyApp.policyPath(id), try await client.call("GET", PolicyApp.policyPath(id)), false) }
            guard let app else { return (PolicyApp.defaultPath, try await client.call("GET", PolicyApp.defaultPath), false) }
            let inForce = try await client.call("GET", App.path(app) + "/appManagementPolicy")
            if inForce["applicationRestrictions"] == .null { return (PolicyApp.policyPath(inForce["id"].text), inForce, false) }
            return (PolicyApp.policiesPath, ["restrictions": ["passwordCredentials": [], "keyCredentials": []]], true)
        }

        /// A policy file: a JSON object; its restrictions under either Graph name land under `restrictionsField`.
        static func read(_ file: String, restrictionsField: String) throws -> [String: JSONValue] {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            var object: [String: JSONValue]
            do {
                object = try JSONParser.parseObject(Array(data))
            } catch {
                throw CLIError("\(file) is not a JSON object: \(error)")
            }
            object["id"] = nil
            for name in ["restrictions", "applicationRestrictions"] where name != restrictionsField {
                if let value = object.removeValue(forKey: name) { object[restrictionsField] = value }
            }
            return object
        }

        /// Applies the flags to the restrictions object (`passwordCredentials`, `keyCredentials`).
        func change(_ restrictions: inout [String: JSONValue]) throws {
            let date: JSONValue = createdAfter.map(JSONValue.string) ?? .null
            func upsert(_ group: String, _ type: String, _ members: [String: JSONValue]) {
                var entries = restrictions[group]?.arrayValue ?? []
                var entry = entries.first { $0["restrictionType"].stringValue == type }?.objectValue
                    ?? ["restrictionType": .string(type), "restrictForAppsCreatedAfterDateTime": date]
                entry["state"] = "enabled"
                if createdAfter != nil { entry["restrictForAppsCreatedAfterDateTime"] = date }
                entry.merge(members) { $1 }
                entries.removeAll { $0["restrictionType"].stringValue == type }
                entries.append(.object(entry))
                restrictions[group] = .array(entries)
            }
            if allowSecrets {
                restrictions["passwordCredentials"] = .array((restrictions["passwordCredentials"]?.arrayValue ?? []).map { entry in
                    guard entry["restrictionType"] == "passwordAddition", var object = entry.objectValue else { return entry }
                    object["state"] = "disabled"
                    return .object(object)
                })
            }
            if blockSecrets { upsert("passwordCredentials", "passwordAddition", [:]) }
            if blockCustomSecrets { upsert("passwordCredentials", "customPasswordAddition", [:]) }
            if let maxSecretLifetime { upsert("passwordCredentials", "passwordLifetime", ["maxLifetime": .string(maxSecretLifetime)]) }
            if let maxKeyLifetime { upsert("keyCredentials", "asymmetricKeyLifetime", ["maxLifetime": .string(maxKeyLifetime)]) }
            if !trustedCa.isEmpty {
                let pems = try trustedCa.flatMap { try App.certificatePEMs($0) }
                upsert("keyCredentials", "trustedCertificateAuthority", ["trustedCertificateAuthorities": .array(pems.map(JSONValue.string))])
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a per-app policy to an app; it replaces the default for that app.")
        @Argument(help: "The policy's id or display name.") var policy: String
        @Option(help: "The application.") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let assigned = try await client.call("PUT", App.path(app) + "/appManagementPolicy", json: ["id": .string(policy)])
                if output.json { return Output.json(assigned) }
                print("\(app) now follows '\(assigned["displayName"].text)' (\(assigned["id"].text)) instead of the default policy.")
            }
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an app's own policy assignment; the default applies to it again.")
        @Option(help: "The application.") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", App.path(app) + "/appManagementPolicy")
                if output.json { return Output.json(["unassigned": .string(app)]) }
                print("\(app) follows the default app management policy again.")
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List working credentials that break the policy in force for their app (they keep working; this says what to replace).")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let report = try await client.call("GET", "policies/appManagementPolicyReport")
                if output.json { return Output.json(report) }
                let rows = report["value"].arrayValue ?? []
                if rows.isEmpty { return print("No working credential breaks the policy in force for its app.") }
                Output.table(
                    ["APP", "KIND", "KEY ID", "NAME", "RESTRICTION", "POLICY"],
                    rows.map {
                        [
                            $0["appDisplayName"].text, $0["credentialType"].text, $0["keyId"].text, $0["credentialDisplayName"].text,
                            $0["restrictionType"].text, $0["policyDisplayName"].text,
                        ]
                    })
                print("")
                for row in rows { print("\(row["appDisplayName"].text) \(row["keyId"].text): \(row["reason"].text)") }
            }
        }
    }
}
