import ArgumentParser
import Foundation
@_exported import SigilCommandLine
import SigilAgentCommand
import SigilCore

/// `sigil`: the server, the admin CLI, the host agent and the secret scanner, in one executable.
public struct SigilCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sigil",
        abstract: "Sigil: workload identities without shared secrets.",
        version: SigilVersion.current,
        subcommands: [
            Serve.self, Login.self, App.self, Policy.self, ManagedIdentity.self, Host.self, Issuer.self, Agent.self, Logs.self, Keys.self, Risk.self, Role.self,
            VaultCommand.self, Scan.self, Backup.self, Kek.self, AdminKey.self, Run.self, Report.self, Migrate.self, AlertCommand.self, DashboardCommand.self, IncidentCommand.self, Assess.self,
        ])

    public init() {}
}

/// Runs an admin command body, turning failures into one clear line and exit code 1.
func runAdmin(_ body: (AdminClient) async throws -> Void) async throws {
    do {
        try await withAdminClient(body)
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}
