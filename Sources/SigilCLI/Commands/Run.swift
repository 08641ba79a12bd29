import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import SigilCore

#if canImport(Glibc)
    import Glibc
#endif

/// `sigil run --secret ENV=VAULT/NAME … -- COMMAND …`: reads vault secrets through the Key
/// Vault REST API, with the host's managed identity (the agent) or the CLI's profile, puts them
/// in the environment and replaces itself with the command. Nothing is written to disk and no
/// value is printed.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command with vault secrets in its environment, read at start; nothing is written to disk.",
        discussion: """
            Each --secret ENV=VAULT/NAME[/VERSION] puts that secret's value (its latest version unless VERSION is given) in ENV. \
            Secrets are read with the host's managed identity when the agent's variables are set (IDENTITY_ENDPOINT and \
            IDENTITY_HEADER, or AZURE_POD_IDENTITY_AUTHORITY_HOST; see `sigil agent env`) or --identity is given, and otherwise \
            with the profile of `sigil login`. The server is --server, else SIGIL_SERVER, else the profile's; its CA is --ca, \
            else SIGIL_CA, else the profile's. The command replaces sigil: its signals and exit code are its own.
            """)

    @Option(name: .customLong("secret"), help: "ENV=VAULT/NAME[/VERSION]; repeat for several.") var secrets: [String] = []
    @Flag(help: "Read with the host's managed identity through the agent (the default when its variables are set).") var identity = false
    @Option(name: .customLong("client-id"), help: "The client id of a user-assigned identity to read with (implies --identity).") var clientId: String?
    @Option(help: "The Sigil server's URL, e.g. https://sigil.example.com:8443.") var server: String?
    @Option(help: "PEM file of the CA that signed the server's certificate.") var ca: String?
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []

    /// One `--secret`: the variable the value goes in, and the secret it comes from.
    struct Reference {
        let variable: String
        let secret: SecretReference

        init(_ text: String) throws {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].first.map({ $0 == "_" || $0.isLetter }) == true,
                parts[0].allSatisfy({ $0.isASCII && ($0 == "_" || $0.isLetter || $0.isNumber) })
            else { throw ValidationError("--secret '\(text)': '\(parts[0])' is not an environment variable name (letters, digits, _)") }
            guard let secret = SecretReference(argument: parts[1]) else {
                throw ValidationError("--secret '\(text)' is not ENV=VAULT/NAME[/VERSION] (a vault name, a secret name of letters, digits and hyphens, a 32-hex-digit version)")
            }
            (variable, self.secret) = (parts[0], secret)
        }

        var description: String { "\(variable)=\(secret.vault)/\(secret.name)\(secret.version.map { "/" + $0 } ?? "")" }
        var path: String { "/vaults/\(secret.vault)/\(secret.path)?api-version=\(VaultClient.apiVersion)" }
    }

    func validate() throws {
        guard !secrets.isEmpty else { throw ValidationError("give at least one --secret ENV=VAULT/NAME") }
        guard !command.isEmpty else { throw ValidationError("give the command to run after --, e.g. sigil run --secret DB_PASSWORD=kv/db -- ./server") }
        let references = try secrets.map(Reference.init)
        guard Set(references.map(\.variable)).count == references.count else { throw ValidationError("each --secret must name a different variable") }
    }

    func run() async throws {
        let values: [(String, String)]
        do {
            values = try await read(try secrets.map(Reference.init))
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode.failure
        }
        for (variable, value) in values { setenv(variable, value, 1) }
        let arguments = command.map { strdup($0) } + [nil]
        execvp(command[0], arguments)
        // Only reached when the command could not be started.
        FileHandle.standardError.write(Data("error: cannot run \(command[0]): \(String(cString: strerror(errno)))\n".utf8))
        throw ExitCode.failure
    }

    /// Reads every secret: the first request unauthenticated, to learn the vault's resource from
    /// its challenge (as azure-keyvault-secrets does), then each with one token for that resource.
    func read(_ references: [Reference]) async throws -> [(String, String)] {
        let environment = ProcessInfo.processInfo.environment
        let agent = ManagedIdentityEndpoint(environment: environment)
        let useIdentity = identity || clientId != nil || agent != nil
        if useIdentity, agent == nil {
            throw CLIError(
                "--identity needs the agent's endpoint: run under the variables `sigil agent env` prints (IDENTITY_ENDPOINT and IDENTITY_HEADER, or AZURE_POD_IDENTITY_AUTHORITY_HOST)")
        }
        let profile = useIdentity ? try? Profile.load() : try Profile.load()
        guard let base = (server ?? environment["SIGIL_SERVER"] ?? profile?.server).map({ $0.hasSuffix("/") ? String($0.dropLast()) : $0 }) else {
            throw CLIError("no server: pass --server URL or set SIGIL_SERVER (or `sigil login` first)")
        }
        let caFile = ca ?? environment["SIGIL_CA"] ?? profile?.caFile
        let admin = useIdentity ? nil : try AdminClient(profile: profile!)
        let http = try AdminClient.httpClient(caFile: caFile)
        do {
            let values = try await read(references, base: base, http: http, agent: agent, admin: admin)
            try? await http.shutdown()
            admin?.saveProfile()
            await admin?.shutdown()
            return values
        } catch {
            try? await http.shutdown()
            await admin?.shutdown()
            throw error
        }
    }

    func read(_ references: [Reference], base: String, http: HTTPClient, agent: ManagedIdentityEndpoint?, admin: AdminClient?) async throws -> [(String, String)] {
        var token: String?
        var values: [(String, String)] = []
        for reference in references {
            var (status, body, challenge) = try await get(http, base + reference.path, bearer: token)
            if status == 401, token == nil {
                guard let resource = VaultClient.challengeResource(challenge) else {
                    throw CLIError("\(reference.description): \(base) answered 401 without a Bearer challenge naming the vault's resource; is it a Sigil server?")
                }
                let scope = resource + "/.default"
                if let agent {
                    token = try await agent.token(resource: resource, clientId: clientId, http: http)
                } else if let admin {
                    token = try await admin.accessToken(scope: scope)
                }
                (status, body, _) = try await get(http, base + reference.path, bearer: token)
                if status == 401, let admin {
                    // The profile's cached token is no longer taken (keys rotated, server reset): once more.
                    admin.forgetToken(scope: scope)
                    token = try await admin.accessToken(scope: scope)
                    (status, body, _) = try await get(http, base + reference.path, bearer: token)
                }
            }
            let object = (try? JSONParser.parseObject(Array(body))) ?? [:]
            guard status == 200, let value = object["value"]?.stringValue else {
                // The vault's own message names what to fix: the role to assign, a disabled or expired version.
                let message = object["error"]?.objectValue?["message"]?.stringValue ?? "HTTP \(status)"
                throw CLIError("\(reference.description): \(message)")
            }
            values.append((reference.variable, value))
        }
        return values
    }

    func get(_ http: HTTPClient, _ url: String, bearer: String?) async throws -> (Int, Data, String?) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "sigil-run")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            var buffer = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), buffer.readData(length: buffer.readableBytes) ?? Data(), response.headers.first(name: "WWW-Authenticate"))
        } catch {
            throw CLIError("cannot reach \(url.prefix { $0 != "?" }): \(AdminClient.describe(error))", unreachable: true)
        }
    }
}

/// The agent's local managed-identity endpoint, as the variables of `sigil agent env` name it.
enum ManagedIdentityEndpoint {
    /// App Service's protocol: `IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER`.
    case appService(endpoint: String, header: String)
    /// IMDS's protocol at `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    case imds(host: String)

    init?(environment all: [String: String]) {
        let environment = all.filter { !$0.value.isEmpty }
        if let endpoint = environment["IDENTITY_ENDPOINT"], let header = environment["IDENTITY_HEADER"] {
            self = .appService(endpoint: endpoint, header: header)
        } else if let host = environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"] {
            self = .imds(host: host.hasSuffix("/") ? String(host.dropLast()) : host)
        } else {
            return nil
        }
    }

    /// A token for `resource` from the agent, for `clientId`'s identity or the host's own.
    func token(resource: String, clientId: String?, http: HTTPClient) async throws -> String {
        var query: [(String, String)] = [("resource", resource)]
        if let clientId { query.append(("client_id", clientId)) }
        var request: HTTPClientRequest
        switch self {
        case .appService(let endpoint, let header):
            request = HTTPClientRequest(url: endpoint + "?" + FormParameters.encode([("api-version", "2019-08-01")] + query))
            request.headers.add(name: "X-IDENTITY-HEADER", value: header)
        case .imds(let host):
            request = HTTPClientRequest(url: host + "/metadata/identity/oauth2/token?" + FormParameters.encode([("api-version", "2018-02-01")] + query))
        }
        request.headers.add(name: "Metadata", value: "true")
        let object: [String: JSONValue]
        let status: UInt
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            var buffer = try await response.body.collect(upTo: 1 << 20)
            status = response.status.code
            object = (try? JSONParser.parseObject(Array(buffer.readData(length: buffer.readableBytes) ?? Data()))) ?? [:]
        } catch {
            throw CLIError("cannot reach the agent's managed-identity endpoint: \(AdminClient.describe(error)); is `sigil agent run` running?", unreachable: true)
        }
        guard status == 200, let token = object["access_token"]?.stringValue else {
            let reason = object["error_description"]?.stringValue ?? object["message"]?.stringValue ?? "HTTP \(status)"
            throw CLIError("the agent gave no token for \(resource): \(reason)")
        }
        return token
    }
}
