import ArgumentParser
import Foundation
import SigilCore

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read the sign-in and audit logs.", subcommands: [SignIns.self, Audit.self])

    struct Filters: ParsableArguments {
        @Option(help: "Only this application or managed identity: its name, appId or objectId.") var app: String?
        @Option(help: "success or failure.") var result: String?
        @Option(help: "From this time: ISO-8601 date-time, or a duration ago such as PT1H or P7D.") var since: String?
        @Option(help: "Before this time (same forms as --since).") var until: String?
        @Option(help: "At most this many entries (1–1000).") var top = 50

        /// The query for the log API. `--app` is resolved to what the log records: the appId for
        /// sign-ins, the object's id for audit events (an unknown UUID is taken as it is, so the
        /// history of a deleted app can still be read).
        func query(_ client: AdminClient, audit: Bool) async throws -> [(String, String)] {
            var query: [(String, String)] = [("top", String(top))]
            if let app { query.append(("appId", try await Self.resolve(app, client, audit: audit))) }
            if let result { query.append(("result", result)) }
            if let since { query.append(("since", try Self.time(since, "--since"))) }
            if let until { query.append(("until", try Self.time(until, "--until"))) }
            return query
        }

        static func resolve(_ reference: String, _ client: AdminClient, audit: Bool) async throws -> String {
            for (collection, isIdentity) in [(App.path(reference), false), (ManagedIdentity.path(reference), true)] {
                do {
                    let found = try await client.call("GET", collection)
                    // Audit events name an application by its objectId, a managed identity by the id the API shows.
                    return audit ? (isIdentity ? found["id"].text : found["objectId"].text) : found["appId"].text
                } catch let error as CLIError where error.status == 404 {
                    continue
                }
            }
            guard UUID(uuidString: reference) != nil else {
                throw CLIError("no application or managed identity '\(reference)' (give its name, appId or objectId)")
            }
            return reference
        }

        static func time(_ text: String, _ option: String) throws -> String {
            if let seconds = ISO8601Duration.seconds(text) { return Date().addingTimeInterval(-seconds).formatted(.iso8601) }
            guard RFC3339.date(text) != nil else {
                throw CLIError("\(option) '\(text)' is neither an ISO-8601 date-time nor a duration such as PT1H")
            }
            return text
        }
    }

    struct SignIns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "signins", abstract: "Token requests, successful or not, newest first.")
        @OptionGroup var filters: Filters
        @OptionGroup var output: OutputOptions

        /// What vouched for a secretless sign-in: the external token's subject, or the host (and
        /// the calling process when it came through the agent's socket).
        static func via(_ event: JSONValue) -> String {
            if let subject = event["federatedTokenSubject"].stringValue { return subject }
            guard let host = event["hostId"].stringValue else { return "-" }
            guard let executable = event["callerExecutable"].stringValue else { return "host " + host }
            return "host \(host) uid \(event["callerUid"].text) \(executable)"
        }

        /// Conditional Access: the status, with the policies that blocked or would have blocked.
        static func conditionalAccess(_ event: JSONValue) -> String {
            let applied = event["appliedConditionalAccessPolicies"].arrayValue ?? []
            let names = { (result: String) in applied.filter { $0["result"].text == result }.map { $0["displayName"].text } }
            var text = event["conditionalAccessStatus"].text
            if !names("failure").isEmpty { text += " by " + names("failure").joined(separator: ",") }
            if !names("reportOnlyFailure").isEmpty { text += " (report-only: " + names("reportOnlyFailure").joined(separator: ",") + ")" }
            return text
        }

        func run() async throws {
            try await runAdmin { client in
                let logs = try await client.call("GET", "signInLogs", query: try await filters.query(client, audit: false))
                if output.json { return Output.json(logs) }
                Output.table(
                    ["TIME", "APP", "CREDENTIAL", "VIA", "RESOURCE", "IP", "RESULT", "CA"],
                    (logs["value"].arrayValue ?? []).map { event in
                        let status = event["status"]
                        let result = status["succeeded"].boolValue == true ? "success" : "AADSTS\(status["errorCode"].text)"
                        return [event["createdDateTime"].text, event["appDisplayName"] == .null ? event["appId"].text : event["appDisplayName"].text,
                            event["clientCredentialType"].text, SignIns.via(event), event["resourceDisplayName"].text, event["ipAddress"].text, result,
                            SignIns.conditionalAccess(event)]
                    })
            }
        }
    }

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Admin changes, newest first.")

        /// id → name of the tenant's applications, managed identities and hosts, for the TARGET column.
        static func names(_ client: AdminClient) async throws -> [String: String] {
            var names: [String: String] = [:]
            for app in try await client.call("GET", "applications")["value"].arrayValue ?? [] { names[app["objectId"].text] = app["displayName"].text }
            for identity in try await client.call("GET", "managedIdentities")["value"].arrayValue ?? [] { names[identity["id"].text] = identity["displayName"].text }
            for host in try await client.call("GET", "hosts")["value"].arrayValue ?? [] { names[host["id"].text] = host["name"].text }
            return names
        }

        @OptionGroup var filters: Filters
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let logs = try await client.call("GET", "auditLogs", query: try await filters.query(client, audit: true))
                if output.json { return Output.json(logs) }
                let names = try await Audit.names(client)
                Output.table(
                    ["TIME", "ACTOR", "ACTION", "TARGET", "RESULT"],
                    (logs["value"].arrayValue ?? []).map { event in
                        let target = event["targetResources"].arrayValue?.first?["id"].text ?? "-"
                        return [event["activityDateTime"].text, event["initiatedBy"]["displayName"].text, event["activityDisplayName"].text,
                            names[target].map { "\($0) (\(target))" } ?? target, event["result"].text]
                    })
            }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sigil's token-signing keys.", subcommands: [List.self, Rotate.self])

    static func printKeys(_ keys: JSONValue, _ output: OutputOptions) {
        if output.json { return Output.json(keys) }
        Output.table(
            ["KID", "ALG", "STATE", "CREATED", "ACTIVATED"],
            (keys["value"].arrayValue ?? []).map { [$0["kid"].text, $0["alg"].text, $0["state"].text, $0["createdDateTime"].text, $0["activatedDateTime"].text] })
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Published signing keys: next, active and retired.")
        @OptionGroup var output: OutputOptions
        func run() async throws { try await runAdmin { Keys.printKeys(try await $0.call("GET", "signingKeys"), output) } }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rotate now: the published next key starts signing.")
        @Option(help: "ES256 or RS256; both when omitted.") var algorithm: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let body: JSONValue? = algorithm.map { ["algorithm": .string($0)] }
                Keys.printKeys(try await client.call("POST", "signingKeys/rotate", json: body), output)
            }
        }
    }
}
