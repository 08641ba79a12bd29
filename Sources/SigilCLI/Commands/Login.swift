import ArgumentParser
import Foundation
import SigilCore

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Point the CLI at a server and sign in with an admin key (saved in a per-user profile).")

    @Option(help: "The server's base URL, e.g. https://127.0.0.1:8443.")
    var server: String

    @Option(help: "PEM CA certificate to trust for the server's TLS (the data folder's tls/ca.pem by default setup).")
    var ca: String?

    @Option(help: "The admin key file (DATA/admin-key.json on first start).")
    var key: String

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
        let trimmed = server.hasSuffix("/") ? String(server.dropLast()) : server
        guard trimmed.hasPrefix("https://") else {
            FileHandle.standardError.write(Data("error: --server must be an https:// URL\n".utf8))
            throw ExitCode.failure
        }
        let profile = Profile(server: trimmed, caFile: ca.map(absolute), keyFile: absolute(key))
        do {
            let client = try AdminClient(profile: profile)
            let tenant: JSONValue
            do {
                tenant = try await client.call("GET", "tenant")
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
            try client.profile.save()
            if output.json { Output.json(tenant) } else {
                print("Signed in to \(trimmed) as \(client.key.clientId), tenant \(tenant["id"].text). Profile: \(Profile.path)")
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode.failure
        }
    }
}
