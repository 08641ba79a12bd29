import ArgumentParser
import Foundation
import Logging
import SigilCommandLine
import SigilCore
import SigilServer
import SigilStore

/// `sigil backup`: a consistent copy of an SQLite data folder, taken while the server runs.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a running server's SQLite data folder: the store (one consistent snapshot), the key-encryption key, the admin key and TLS.",
        discussion: "The copy is a data folder: restore by copying it into place and starting `sigil serve --data` on it. "
            + "On PostgreSQL use pg_dump and pg_restore instead (docs/operations.md).")

    @Option(help: "The data folder to back up.") var data = "./sigil-data"
    @Option(help: "An SQLite file other than DATA/sigil.sqlite.") var database: String?
    @Option(help: "The new folder to write the backup into (must not exist).") var to: String

    func run() async throws {
        try await reportingErrors {
            let source = try DataFolder(path: data)
            guard case .sqlite(let store) = StoreLocation(argument: database ?? source.path("sigil.sqlite")) else {
                throw CLIError("a PostgreSQL store is backed up with pg_dump (docs/operations.md), not sigil backup")
            }
            guard !FileManager.default.fileExists(atPath: to) else { throw CLIError("\(to) exists already; back up into a new folder") }
            let backup = try DataFolder(path: to)
            try await Store.backUpSQLite(store, to: backup.path("sigil.sqlite"), logger: Logger(label: "sigil-backup"))
            var copied = ["the store"]
            for (file, secret, what) in [
                ("kek", true, "the key-encryption key"), (AdminKeyFile.fileName, true, "the admin key"), ("tls/ca.pem", false, "TLS"),
                ("tls/server.pem", false, nil), ("tls/server-key.pem", true, nil),
            ] as [(String, Bool, String?)] where source.exists(file) {
                if file.hasPrefix("tls/") { try FileManager.default.createDirectory(atPath: backup.path("tls"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
                try backup.write(file, try source.read(file), secret: secret)
                if let what { copied.append(what) }
            }
            var line = "Backed up \(source.path("")) to \(backup.path("")): \(copied.joined(separator: ", "))."
            if !source.exists("kek") { line += " The key-encryption key is in SIGIL_KEK: keep it with the backup, apart from it." }
            print(line + " Keep it as private as the data folder.")
        }
    }
}

/// `sigil kek rotate`: re-wraps everything sealed in the store under a new key-encryption key.
struct Kek: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kek", abstract: "The key-encryption key that seals the signing keys and wraps the vault's data keys in the store.",
        subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal the signing keys and re-wrap every vault data key under a new key-encryption key.",
            discussion: """
                Without --data or --database, the running server the profile signs in to rotates while it serves (sigil login first). \
                With DATA/kek it writes a new key; with SIGIL_KEK, start every replica with the new key in SIGIL_KEK and the old one \
                in SIGIL_KEK_PREVIOUS first. With --data or --database the server must be stopped (every replica): DATA/kek is \
                replaced, or with SIGIL_KEK alone the new key is printed once, to set on every replica before they start.
                """)

        @Option(help: "Rotate offline: the data folder of a stopped server.") var data: String?
        @Option(help: "Rotate offline: postgres://… or an SQLite file other than DATA/sigil.sqlite.") var database: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard data != nil || database != nil else {
                return try await runAdmin { client in
                    // The answer comes when every version is re-wrapped: minutes for millions of them.
                    let outcome = try await client.call("POST", "keyEncryptionKey/rotate", timeout: .hours(1))
                    if output.json { return Output.json(outcome) }
                    print("Re-sealed \(outcome["resealedSigningKeys"].text) signing keys and re-wrapped \(outcome["rewrappedVersions"].text) vault data keys under key-encryption key \(outcome["kekId"].text).")
                }
            }
            try await reportingErrors {
                let environment = try ServerConfiguration.EnvironmentKeys.from(ProcessInfo.processInfo.environment)
                let data = data ?? "./sigil-data"
                let outcome = try await KeyEncryptionKeyFile.rotate(dataPath: data, database: database, environment: environment, logger: Logger(label: "sigil-kek"))
                let done = "Re-sealed \(outcome.resealedSigningKeys) signing keys and re-wrapped \(outcome.rewrappedVersions) vault data keys"
                if output.json {
                    var json = outcome.json
                    if let key = outcome.newEnvironmentKey { json = .object((json.objectValue ?? [:]).merging(["newKey": .string(key)]) { $1 }) }
                    return Output.json(json)
                }
                if let key = outcome.newEnvironmentKey {
                    print("\(done). The new key-encryption key (set it as SIGIL_KEK on every replica; it is not shown again):")
                    print(key)
                } else if environment != nil {
                    print("\(done) under SIGIL_KEK (\(outcome.kekId)); SIGIL_KEK_PREVIOUS is no longer needed.")
                } else {
                    print("\(done) with a new key-encryption key in \(URL(fileURLWithPath: data).appendingPathComponent("kek").path).")
                }
            }
        }
    }
}

/// `sigil admin-key rotate`: a new key for the signed-in administrator, the old one removed.
struct AdminKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-key", abstract: "The admin key the CLI signs in with.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a new key for the signed-in administrator, switch the profile to it, and remove the old key.")

        @Option(help: "Where to write the new key file (0600); default: over the current one.") var out: String?
        @Option(help: "How long the new key stays valid, ISO-8601 (P90D); default: no end.") var lifetime: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            // Not runAdmin: that would save the old profile over the new one at the end.
            try await reportingErrors {
                let client = try AdminClient(profile: try Profile.load())
                do {
                    try await rotate(with: client)
                    await client.shutdown()
                } catch {
                    await client.shutdown()
                    throw error
                }
            }
        }

        private func rotate(with client: AdminClient) async throws {
            let old = client.key
            let app = App.path(old.clientId)
            let (file, added, before) = try await KeyFiles.mint(
                on: old.clientId, name: "admin key \(Date().formatted(.iso8601))", lifetime: lifetime, with: client)
            let oldCredential = (before["keyCredentials"].arrayValue ?? []).first { $0["kid"].stringValue == old.kid }
            let path = URL(fileURLWithPath: out ?? client.profile.keyFile).standardizedFileURL.path
            try KeyFiles.write(file, to: path)
            // Sign in with the new key before the old one goes.
            let switched = try AdminClient(profile: Profile(server: client.profile.server, caFile: client.profile.caFile, keyFile: path))
            do {
                _ = try await switched.call("GET", "tenant")
                if let keyId = oldCredential?["keyId"].stringValue {
                    try await switched.call("DELETE", app + "/keyCredentials/" + FormParameters.percentEncode(keyId))
                }
                try switched.profile.save()
                await switched.shutdown()
            } catch {
                await switched.shutdown()
                throw error
            }
            if output.json { return Output.json(["keyFile": .string(path), "kid": .string(file.kid), "keyId": added["keyId"]]) }
            print("The admin key is now \(path) (kid \(file.kid)); the old key (kid \(old.kid)) no longer signs in.")
        }
    }
}
