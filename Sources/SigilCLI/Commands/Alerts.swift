import ArgumentParser
import Foundation
import SigilCore

/// `sigil alert …`: webhooks that receive the tenant's alerts.
struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Webhooks for risk detections, leak reports, sign-in spikes, expiring credentials and secrets added to a secretless tenant.",
        subcommands: [Add.self, List.self, Remove.self, DeadLetters.self])

    static func path(_ id: String? = nil) -> String {
        "alerts/subscriptions" + (id.map { "/" + FormParameters.percentEncode($0) } ?? "")
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the tenant's alerts to URL; prints the subscription and, once, the key its deliveries are signed with.",
            discussion: "Each POST carries `X-Sigil-Signature: t=UNIX_TIME,sha256=HEX`, the HMAC-SHA256 of `UNIX_TIME.BODY` with that key.")
        @Option(help: "The webhook: an https:// URL (http:// only with --allow-private-network).") var url: String
        @Option(
            name: .customLong("kind"),
            help: "An alert kind to receive (repeatable; every kind when absent): \(AlertKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var kinds: [String] = []
        @Option(name: .customLong("spike-app"), help: "Failed or blocked sign-ins of one app in one window that make a spike (1 to 1000000).")
        var spikeApp = AlertRules.defaultSpike.perApp
        @Option(name: .customLong("spike-tenant"), help: "Failed or blocked sign-ins in the tenant in one window that make a spike (1 to 1000000).")
        var spikeTenant = AlertRules.defaultSpike.perTenant
        @Option(name: .customLong("spike-window"), help: "The spike window (ISO-8601, PT1S to P1D).") var spikeWindow = "PT5M"
        @Option(name: .customLong("expiring-within"), help: "How long before a credential's end credentialExpiring is sent (ISO-8601, PT1M to P365D).")
        var expiringWithin = "P30D"
        @Flag(name: .customLong("allow-private-network"), help: "Let URL be on a loopback, private or link-local address, over http:// or https://.")
        var allowPrivateNetwork = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let body: JSONValue = [
                "url": .string(url), "kinds": .array(kinds.map(JSONValue.string)), "spikeApp": .integer(Int64(spikeApp)),
                "spikeTenant": .integer(Int64(spikeTenant)), "spikeWindow": .string(spikeWindow), "expiringWithin": .string(expiringWithin),
                "allowPrivateNetwork": .bool(allowPrivateNetwork),
            ]
            try await runAdmin { client in
                let created = try await client.call("POST", AlertCommand.path(), json: body)
                if output.json { return Output.json(created) }
                Output.fields([
                    ("id", created["id"].text), ("url", created["url"].text), ("kinds", AlertCommand.kinds(created)),
                    ("spike", AlertCommand.spike(created)), ("expiring within", created["expiringWithin"].text),
                    ("private network", created["allowPrivateNetwork"].text),
                ])
                print("\nSigning key (shown once; keep it where the receiver verifies deliveries):\n  \(created["secret"].text)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's alert subscriptions.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", AlertCommand.path())
                if output.json { return Output.json(list) }
                Output.table(
                    ["ID", "URL", "KINDS", "SPIKE", "EXPIRING WITHIN"],
                    (list["value"].arrayValue ?? []).map {
                        [$0["id"].text, $0["url"].text, AlertCommand.kinds($0), AlertCommand.spike($0), $0["expiringWithin"].text]
                    })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an alert subscription; deliveries not yet made are dropped.")
        @Argument(help: "The subscription's id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", AlertCommand.path(id))
                if output.json { Output.json(["removed": .string(id)]) } else { print("Removed alert subscription \(id).") }
            }
        }
    }

    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letters", abstract: "List the alert deliveries a subscription gave up on, newest first; --redeliver sends them all again.")
        @Argument(help: "The subscription's id.") var id: String
        @Flag(help: "Put every dead letter listed back in the outbox, due now, with its attempts reset.") var redeliver = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                var list = try await client.call("GET", AlertCommand.path(id) + "/deadLetters")
                if redeliver {
                    var queued: [JSONValue] = []
                    for letter in list["value"].arrayValue ?? [] {
                        queued.append(try await client.call(
                            "POST", AlertCommand.path(id) + "/deadLetters/" + FormParameters.percentEncode(letter["id"].text) + "/redeliver"))
                    }
                    list = ["value": .array(queued)]
                }
                if output.json { return Output.json(list) }
                Output.table(
                    ["DELIVERY", "TYPE", "STATE", "ATTEMPTS", "LAST ATTEMPT", "LAST ERROR"],
                    (list["value"].arrayValue ?? []).map {
                        [$0["id"].text, $0["type"].text, $0["state"].text, $0["attempts"].text, $0["lastAttemptDateTime"].text, $0["lastError"].text]
                    })
            }
        }
    }

    static func kinds(_ subscription: JSONValue) -> String {
        (subscription["kinds"].arrayValue ?? []).map(\.text).joined(separator: ",")
    }

    static func spike(_ subscription: JSONValue) -> String {
        "\(subscription["spikeApp"].text)/app, \(subscription["spikeTenant"].text)/tenant per \(subscription["spikeWindow"].text)"
    }
}
