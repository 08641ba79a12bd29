import ArgumentParser
import Foundation
import SigilCore

/// `sigil dashboard`: a sign-in link for the dashboard, for the principal of the CLI profile.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Print a link that signs a browser in to the dashboard: valid for 5 minutes, once.",
        discussion: "The browser gets a session as the principal of this profile, with its roles; open the link on a machine you trust.")
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runAdmin { client in
            let code = try await client.call("POST", "dashboard/codes")
            if output.json { return Output.json(code) }
            print(code["url"].text)
        }
    }
}
