import ArgumentParser
import Foundation
import SigilCore

/// `sigil role …`: admin roles and who holds them, at which scope.
struct Role: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Admin roles: the built-in and custom ones, and their assignments to principals (apps, managed identities, hosts).",
        subcommands: [Create.self, List.self, Show.self, Assign.self, Unassign.self])

    static let definitions = "roleManagement/directory/roleDefinitions"
    static let assignments = "roleManagement/directory/roleAssignments"

    static func permissions(_ role: JSONValue) -> [String] {
        (role["rolePermissions"].arrayValue ?? []).flatMap { ($0["allowedResourceActions"].arrayValue ?? []).map(\.text) }
    }

    static func printAssignments(_ assignments: [JSONValue]) {
        Output.table(
            ["ID", "ROLE", "PRINCIPAL", "SCOPE"],
            assignments.map { [$0["id"].text, $0["roleDisplayName"].text, $0["principalDisplayName"].text, $0["directoryScopeDisplayName"].text] })
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a custom role from permissions (`sigil role show Administrator` lists them all).")
        @Argument(help: "The role's name.") var name: String
        @Option(name: .customLong("permission"), parsing: .upToNextOption, help: "A permission the role carries, such as applications.read; repeat or list several.")
        var permissions: [String] = []
        @Option(help: "What the role is for.") var description: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                var body: [String: JSONValue] = [
                    "displayName": .string(name), "rolePermissions": [["allowedResourceActions": .array(permissions.map(JSONValue.string))]],
                ]
                if let description { body["description"] = .string(description) }
                let role = try await client.call("POST", Role.definitions, json: .object(body))
                if output.json { return Output.json(role) }
                print("Created role \(role["displayName"].text) (\(role["id"].text)) with \(Role.permissions(role).joined(separator: ", ")).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Roles, built-in first, with how many assignments each has.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let roles = try await client.call("GET", Role.definitions)
                if output.json { return Output.json(roles) }
                let assignments = try await client.call("GET", Role.assignments)["value"].arrayValue ?? []
                Output.table(
                    ["ROLE", "BUILT-IN", "ASSIGNMENTS", "PERMISSIONS"],
                    (roles["value"].arrayValue ?? []).map { role in
                        [
                            role["displayName"].text, role["isBuiltIn"].text, String(assignments.filter { $0["roleDefinitionId"] == role["id"] }.count),
                            Role.permissions(role).joined(separator: " "),
                        ]
                    })
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A role's permissions and its assignments.")
        @Argument(help: "The role's name or id.") var role: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let found = try await client.call("GET", Role.definitions + "/" + FormParameters.percentEncode(role))
                let assignments = (try await client.call("GET", Role.assignments)["value"].arrayValue ?? []).filter { $0["roleDefinitionId"] == found["id"] }
                guard !output.json else {
                    guard case .object(var object) = found else { return Output.json(found) }
                    object["assignments"] = .array(assignments)
                    return Output.json(.object(object))
                }
                Output.fields([
                    ("displayName", found["displayName"].text), ("id", found["id"].text), ("isBuiltIn", found["isBuiltIn"].text),
                    ("description", found["description"].text), ("permissions", Role.permissions(found).joined(separator: " ")),
                ])
                print("")
                Role.printAssignments(assignments)
            }
        }
    }

    /// Where an assignment applies: the tenant, one application, one vault or one secret in it.
    struct ScopeOptions: ParsableArguments {
        @Option(help: "Scope the assignment to this application (name, appId, objectId or identifier URI) instead of the tenant.")
        var app: String?
        @Option(help: "Scope the assignment to this vault (its name).") var vault: String?
        @Option(help: "With --vault: scope it to this one secret.") var secret: String?

        func validate() throws {
            if secret != nil, vault == nil { throw ValidationError("--secret needs --vault.") }
            if app != nil, vault != nil { throw ValidationError("Give --app or --vault, not both.") }
        }

        var directoryScopeId: String {
            if let app { return "/applications/" + app }
            if let vault { return "/vaults/" + vault + (secret.map { "/secrets/" + $0 } ?? "") }
            return "/"
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a principal a role, over the tenant or scoped to one application, vault or secret.")
        @Argument(help: "The role's name or id.") var role: String
        @Option(help: "The principal: an app, managed identity or host identity (name, appId, objectId or servicePrincipalId).") var to: String
        @OptionGroup var scope: ScopeOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let assignment = try await client.call("POST", Role.assignments, json: [
                    "roleDefinitionId": .string(role), "principalId": .string(to), "directoryScopeId": .string(scope.directoryScopeId),
                ])
                if output.json { return Output.json(assignment) }
                print("\(assignment["principalDisplayName"].text) now holds \(assignment["roleDisplayName"].text) over \(assignment["directoryScopeDisplayName"].text) (assignment \(assignment["id"].text)).")
            }
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a role away: by assignment id, or by role, principal and scope.")
        @Argument(help: "The role's name or id (or leave it out and give --id).") var role: String?
        @Option(help: "The principal holding the role.") var from: String?
        @Option(help: "The assignment's id (from `sigil role show ROLE`).") var id: String?
        @OptionGroup var scope: ScopeOptions

        func validate() throws {
            guard (id != nil) != (role != nil && from != nil) else {
                throw ValidationError("Give either --id ID, or ROLE --from PRINCIPAL [--app APP].")
            }
        }

        func run() async throws {
            try await runAdmin { client in
                var assignmentId = id ?? ""
                if let role, let from {
                    let definition = try await client.call("GET", Role.definitions + "/" + FormParameters.percentEncode(role))
                    let held = try await client.call("GET", Role.assignments, query: [("principalId", from)])["value"].arrayValue ?? []
                    var wanted = scope.directoryScopeId
                    if let app = scope.app { wanted = "/applications/" + (try await client.call("GET", App.path(app)))["objectId"].text }
                    guard let match = held.first(where: { $0["roleDefinitionId"] == definition["id"] && $0["directoryScopeId"].text == wanted }) else {
                        throw CLIError("\(from) does not hold \(definition["displayName"].text) at that scope; `sigil role show \"\(definition["displayName"].text)\"` lists the assignments.")
                    }
                    assignmentId = match["id"].text
                }
                try await client.call("DELETE", Role.assignments + "/" + FormParameters.percentEncode(assignmentId))
                print("Removed role assignment \(assignmentId).")
            }
        }

    }
}
