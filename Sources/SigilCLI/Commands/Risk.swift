import ArgumentParser
import Foundation
import SigilCore

struct Risk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Workload risk: detections (leaked credentials, suspicious sign-ins and credential additions, confirmed compromise) and what to do about them.",
        subcommands: [List.self, Show.self, Dismiss.self, ConfirmCompromised.self])

    static func printDetections(_ detections: [JSONValue]) {
        Output.table(
            ["ID", "DETECTED", "APP", "TYPE", "LEVEL", "STATE", "KEY IDS", "SOURCE"],
            detections.map { detection in
                let app = detection["servicePrincipalDisplayName"] == .null ? detection["appId"].text : detection["servicePrincipalDisplayName"].text
                return [
                    detection["id"].text, detection["detectedDateTime"].text, app, detection["riskEventType"].text, detection["riskLevel"].text,
                    detection["riskState"].text, detection["keyIds"].text, detection["source"].text,
                ]
            })
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Risk detections, newest first.")
        @Option(help: "Only this application (name, appId, objectId or identifier URI).") var app: String?
        @Flag(help: "List the risky service principals (any detection, with their risk now) instead of the detections.") var principals = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                if principals {
                    let risky = try await client.call("GET", "riskyServicePrincipals")
                    if output.json { return Output.json(risky) }
                    return Output.table(
                        ["PRINCIPAL", "APP ID", "TYPE", "RISK", "STATE"],
                        (risky["value"].arrayValue ?? []).map {
                            [$0["displayName"].text, $0["appId"].text, $0["servicePrincipalType"].text, $0["riskLevel"].text, $0["riskState"].text]
                        })
                }
                var query: [(String, String)] = []
                if let app { query.append(("appId", try await client.call("GET", App.path(app))["appId"].text)) }
                let detections = try await client.call("GET", "riskDetections", query: query)
                if output.json { return Output.json(detections) }
                Risk.printDetections(detections["value"].arrayValue ?? [])
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One detection with its evidence, or an application's risk and all its detections.")
        @Argument(help: "A detection id, or an application (name, appId, objectId or identifier URI).") var reference: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                if UUID(uuidString: reference) != nil,
                    let detection = try? await client.call("GET", "riskDetections/" + FormParameters.percentEncode(reference))
                {
                    if output.json { return Output.json(detection) }
                    return Risk.printDetail(detection)
                }
                let app = try await client.call("GET", App.path(reference))
                let detections = try await client.call("GET", "riskDetections", query: [("appId", app["appId"].text)])
                guard !output.json else {
                    return Output.json([
                        "appId": app["appId"], "displayName": app["displayName"], "riskLevel": app["riskLevel"], "riskState": app["riskState"],
                        "detections": detections["value"],
                    ])
                }
                print("\(app["displayName"].text): risk \(app["riskLevel"].text) (\(app["riskState"].text))")
                for detection in detections["value"].arrayValue ?? [] {
                    print("")
                    Risk.printDetail(detection)
                }
            }
        }
    }

    static func printDetail(_ detection: JSONValue) {
        Output.fields([
            ("id", detection["id"].text), ("riskEventType", detection["riskEventType"].text), ("riskLevel", detection["riskLevel"].text),
            ("riskState", detection["riskState"].text), ("detected", detection["detectedDateTime"].text),
            ("principal", detection["servicePrincipalDisplayName"].text), ("source", detection["source"].text),
        ] + (detection["additionalInfo"].arrayValue ?? []).map { ($0["Key"].text, $0["Value"].text) })
    }

    struct ConfirmCompromised: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm-compromised",
            abstract: "Confirm an application is compromised: its risk becomes high at once, for Conditional Access too.")
        @Argument(help: "The application (name, appId, objectId or identifier URI).") var app: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let detection = try await client.call("POST", "riskyServicePrincipals/" + FormParameters.percentEncode(app) + "/confirmCompromised")
                if output.json { return Output.json(detection) }
                print("\(detection["servicePrincipalDisplayName"].text) is confirmed compromised: risk high (detection \(detection["id"].text)).")
            }
        }
    }

    struct Dismiss: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dismiss a detection: the app's risk drops once none is left at risk (a revoked secret stays revoked).")
        @Argument(help: "The detection's id (from `sigil risk list`).") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let detection = try await client.call("POST", "riskDetections/" + FormParameters.percentEncode(id) + "/dismiss")
                if output.json { return Output.json(detection) }
                print("Detection \(detection["id"].text) is \(detection["riskState"].text).")
            }
        }
    }
}
