import ArgumentParser
import Foundation
import SigilCore

struct Risk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Workload risk: detections such as leaked credentials, and dismissing them.", subcommands: [List.self, Dismiss.self])

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
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                var query: [(String, String)] = []
                if let app { query.append(("appId", try await client.call("GET", App.path(app))["appId"].text)) }
                let detections = try await client.call("GET", "riskDetections", query: query)
                if output.json { return Output.json(detections) }
                Risk.printDetections(detections["value"].arrayValue ?? [])
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
