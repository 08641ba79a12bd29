import ArgumentParser
import Foundation
import SigilCore

/// `sigil vault events …`: webhooks that receive a vault's Event Grid-shaped events.
struct VaultEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Webhooks that receive a vault's events (SecretNewVersionCreated, SecretNearExpiry, SecretExpired) in Event Grid's schema.",
        subcommands: [Add.self, List.self, Remove.self, DeadLetters.self, Redeliver.self])

    static func path(_ vault: String, _ id: String? = nil) -> String {
        "vaults/" + FormParameters.percentEncode(vault) + "/eventSubscriptions" + (id.map { "/" + FormParameters.percentEncode($0) } ?? "")
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send VAULT's events to URL; prints the subscription and, once, the key its deliveries are signed with.",
            discussion: "Each POST carries `X-Sigil-Signature: t=UNIX_TIME,sha256=HEX`, the HMAC-SHA256 of `UNIX_TIME.BODY` with that key.")
        @Argument var vault: String
        @Option(help: "The webhook: an https:// URL (http:// only with --allow-private-network).") var url: String
        @Option(name: .customLong("secret-name"), help: "Only secrets whose name matches this pattern (* and ? wildcards, case-insensitive).")
        var secretName: String?
        @Option(name: .customLong("near-expiry"), help: "How long before a version's exp SecretNearExpiry is sent (ISO-8601, PT1M to P365D).")
        var nearExpiry = "P30D"
        @Flag(name: .customLong("allow-private-network"), help: "Let URL be on a loopback, private or link-local address, over http:// or https://.")
        var allowPrivateNetwork = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var body: [String: JSONValue] = ["url": .string(url), "nearExpiry": .string(nearExpiry), "allowPrivateNetwork": .bool(allowPrivateNetwork)]
            if let secretName { body["secretName"] = .string(secretName) }
            try await runAdmin { client in
                let created = try await client.call("POST", VaultEvents.path(vault), json: .object(body))
                if output.json { return Output.json(created) }
                VaultEvents.printSubscription(created)
                print("\nSigning key (shown once; keep it where the receiver verifies deliveries):\n  \(created["secret"].text)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a vault's event subscriptions.")
        @Argument var vault: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", VaultEvents.path(vault))
                if output.json { return Output.json(list) }
                Output.table(
                    ["ID", "URL", "SECRET NAME", "NEAR EXPIRY"],
                    (list["value"].arrayValue ?? []).map { [$0["id"].text, $0["url"].text, $0["secretName"].text, $0["nearExpiry"].text] })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an event subscription; deliveries not yet made are dropped.")
        @Argument var vault: String
        @Argument(help: "The subscription's id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                try await client.call("DELETE", VaultEvents.path(vault, id))
                if output.json { Output.json(["removed": .string(id)]) } else { print("Removed event subscription \(id).") }
            }
        }
    }

    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letters", abstract: "List the deliveries a subscription gave up on, newest first.")
        @Argument var vault: String
        @Argument(help: "The subscription's id.") var id: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let list = try await client.call("GET", VaultEvents.path(vault, id) + "/deadLetters")
                if output.json { return Output.json(list) }
                Output.table(
                    ["DELIVERY", "EVENT TYPE", "SECRET", "ATTEMPTS", "LAST ATTEMPT", "LAST ERROR"],
                    (list["value"].arrayValue ?? []).map {
                        [$0["id"].text, $0["eventType"].text, $0["subject"].text, $0["attempts"].text, $0["lastAttemptDateTime"].text, $0["lastError"].text]
                    })
            }
        }
    }

    struct Redeliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a dead-lettered delivery again, with its attempts reset.")
        @Argument var vault: String
        @Argument(help: "The subscription's id.") var id: String
        @Argument(help: "The delivery's id (from dead-letters).") var delivery: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await runAdmin { client in
                let queued = try await client.call(
                    "POST", VaultEvents.path(vault, id) + "/deadLetters/" + FormParameters.percentEncode(delivery) + "/redeliver")
                if output.json { Output.json(queued) } else { print("Delivery \(delivery) is queued again.") }
            }
        }
    }

    static func printSubscription(_ subscription: JSONValue) {
        Output.fields([
            ("id", subscription["id"].text), ("vault", subscription["vault"].text), ("url", subscription["url"].text),
            ("secret name", subscription["secretName"].text), ("near expiry", subscription["nearExpiry"].text),
            ("private network", subscription["allowPrivateNetwork"].text),
        ])
    }
}
