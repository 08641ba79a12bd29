import ArgumentParser
import Foundation
import SigilCore

struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Incident response: contain a service principal at once, read what it did, release it.",
        subcommands: [Contain.self, Release.self, Show.self, List.self])

    static func path(_ principal: String, _ action: String) -> String {
        "servicePrincipals/" + FormParameters.percentEncode(principal) + "/" + action
    }

    /// The incident's state, what was disabled and revoked, and the secrets to rotate.
    static func printIncident(_ incident: JSONValue) {
        Output.fields([
            ("incident", incident["id"].text), ("principal", "\(incident["displayName"].text) (appId \(incident["appId"].text))"),
            ("state", incident["state"].text),
            ("contained", "\(incident["containedDateTime"].text) by \(incident["containedBy"]["displayName"].text)"),
            ("released", incident["releasedBy"] == .null ? "-" : "\(incident["releasedDateTime"].text) by \(incident["releasedBy"]["displayName"].text)"),
            ("tokens refused", "issued at or before \(incident["tokensRevokedIssuedAtOrBefore"].text)"),
            ("credentials disabled", (incident["disabledCredentials"].arrayValue ?? []).map { "\($0["type"].text) \($0["id"].text)" }.joined(separator: ", ")),
        ])
        let secrets = incident["vaultSecrets"].arrayValue ?? []
        guard !secrets.isEmpty else { return print("\nNo vault secret was readable by it.") }
        print("\nVault secrets it could read:")
        Output.table(["VAULT", "SECRET", "ROTATION"], secrets.map { [$0["vault"].text, $0["name"].text, $0["rotation"].text] })
    }

    /// The timeline: sign-ins by resource, address and user agent, then every entry, oldest first.
    static func printTimeline(_ timeline: JSONValue) {
        print("\nTimeline \(timeline["since"].text) to \(timeline["until"].text)\(timeline["truncated"] == .bool(true) ? " (cut to the newest entries)" : ""):")
        for (title, key) in [("RESOURCE", "resources"), ("IP ADDRESS", "ipAddresses"), ("USER AGENT", "userAgents")] {
            let counts = timeline[key].arrayValue ?? []
            guard !counts.isEmpty else { continue }
            print("")
            Output.table(
                [title, "SIGN-INS", "FAILED", "FIRST", "LAST"],
                counts.map { [$0["value"].text, $0["signIns"].text, $0["failures"].text, $0["firstDateTime"].text, $0["lastDateTime"].text] })
        }
        print("")
        Output.table(
            ["TIME", "KIND", "WHAT", "BY", "FROM", "CREDENTIAL", "RESULT", "DETAIL"],
            (timeline["entries"].arrayValue ?? []).map { entry in
                [
                    entry["dateTime"].text, entry["kind"].text, entry["what"].text, entry["actor"].text, entry["ipAddress"].text,
                    entry["credentialType"] == .null ? entry["credentialId"].text : "\(entry["credentialType"].text) \(entry["credentialId"].text)",
                    entry["result"].text, entry["detail"].text,
                ]
            })
    }

    struct Contain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Contain a service principal at once, in one transaction: disable it and its credentials, refuse its tokens, put the vault secrets it could read up for rotation.")
        @Argument(help: "The application or managed identity: its name, appId, objectId or service principal id.") var principal: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let incident = try await client.call("POST", IncidentCommand.path(principal, "contain"))
                if output.json { return Output.json(incident) }
                IncidentCommand.printIncident(incident)
                IncidentCommand.printTimeline(incident["timeline"])
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a containment: enable the principal and the credentials the containment disabled (tokens issued before it stay refused).")
        @Argument(help: "The application or managed identity: its name, appId, objectId or service principal id.") var principal: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let incident = try await client.call("POST", IncidentCommand.path(principal, "release"))
                if output.json { return Output.json(incident) }
                print("\(incident["displayName"].text) is released: it and \((incident["disabledCredentials"].arrayValue ?? []).count) credential(s) are enabled again.")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An incident (by its id, or a service principal's latest) with the timeline of what the principal did and what changed.")
        @Argument(help: "An incident id, or the principal's name, appId, objectId or service principal id.") var reference: String
        @Option(help: "Timeline from this time: ISO-8601 date-time, or a duration ago such as P7D (default: a week before the containment).")
        var since: String?
        @Option(help: "Timeline before this time (same forms as --since; default now).") var until: String?
        @Option(help: "At most this many sign-ins and this many audit events (1–1000).") var top = 200
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                var query: [(String, String)] = [("top", String(top))]
                if let since { query.append(("since", try Logs.Filters.time(since, "--since"))) }
                if let until { query.append(("until", try Logs.Filters.time(until, "--until"))) }
                let incident = try await client.call("GET", "incidents/" + FormParameters.percentEncode(reference), query: query)
                if output.json { return Output.json(incident) }
                IncidentCommand.printIncident(incident)
                IncidentCommand.printTimeline(incident["timeline"])
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tenant's incidents, newest first.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let incidents = try await client.call("GET", "incidents")
                if output.json { return Output.json(incidents) }
                Output.table(
                    ["ID", "PRINCIPAL", "STATE", "CONTAINED", "BY", "RELEASED", "SECRETS"],
                    (incidents["value"].arrayValue ?? []).map {
                        [
                            $0["id"].text, $0["displayName"].text, $0["state"].text, $0["containedDateTime"].text, $0["containedBy"]["displayName"].text,
                            $0["releasedDateTime"].text, String(($0["vaultSecrets"].arrayValue ?? []).count),
                        ]
                    })
            }
        }
    }
}
