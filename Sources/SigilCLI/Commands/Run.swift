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

    /// One `--secret`: where the value goes and where it comes from.
    struct Reference: Equatable {
        let variable: String
        let vault: String
        let name: String
        let version: String?

        init(_ text: String) throws {
            guard let equals = text.firstIndex(of: "=") else { throw ValidationError("--secret '\(text)' is not ENV=VAULT/NAME[/VERSION]") }
            variable = String(text[..<equals])
            let parts = text[text.index(after: equals)...].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard variable.first.map({ $0 == "_" || $0.isLetter }) == true, variable.allSatisfy({ $0.isASCII && ($0 == "_" || $0.isLetter || $0.isNumber) })
            else { throw ValidationError("--secret '\(text)': '\(variable)' is not an environment variable name (letters, digits, _)") }
            guard (2...3).contains(parts.count) else { throw ValidationError("--secret '\(text)' is not ENV=VAULT/NAME[/VERSION]") }
            (vault, name, version) = (parts[0], parts[1], parts.count == 3 ? parts[2] : nil)
            do {
                try VaultRules.checkVaultName(vault)
                try VaultRules.checkSecretName(name)
            } catch {
                throw ValidationError("--secret '\(text)': \(error.message)")
            }
            if let version, !VaultRules.isVersion(version) { throw ValidationError("--secret '\(text)': the version must be 32 hex digits") }
        }

        var description: String { "\(variable)=\(vault)/\(name)\(version.map { "/" + $0 } ?? "")" }
        var path: String { "/vaults/\(vault)/secrets/\(name)\(version.map { "/" + $0 } ?? "")?api-version=\(Run.apiVersion)" }
    }

    static let apiVersion = "7.4"

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
                guard let resource = challenge.flatMap(Self.challengeResource) else {
                    throw CLIError("\(reference.description): \(base) answered 401 without a Bearer challenge naming the vault's resource; is it a Sigil server?")
                }
                if let agent {
                    token = try await agent.token(resource: resource, clientId: clientId, http: http)
                } else if let admin {
                    token = try await admin.requestToken(scope: resource + "/.default").token
                }
                (status, body, _) = try await get(http, base + reference.path, bearer: token)
            }
            let object = (try? JSONParser.parseObject(Array(body))) ?? [:]
            guard status == 200, let value = object["value"]?.stringValue else {
                let principal = token.flatMap { try? CompactJWS(parsing: $0) }.flatMap { $0.claims["appid"]?.stringValue }
                throw CLIError("\(reference.description): \(Self.refusal(status, object, reference, principal: principal))")
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

    /// The `resource` (or the `scope` without `/.default`) of a `Bearer …` challenge.
    static func challengeResource(_ header: String) -> String? {
        guard header.lowercased().hasPrefix("bearer ") else { return nil }
        var parameters: [String: String] = [:]
        for part in header.dropFirst(7).split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            parameters[pair[0].lowercased()] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return parameters["resource"] ?? parameters["scope"].map { $0.hasSuffix("/.default") ? String($0.dropLast(9)) : $0 }
    }

    /// What the vault's refusal means and what to do about it.
    static func refusal(_ status: Int, _ object: [String: JSONValue], _ reference: Reference, principal: String?) -> String {
        let message = object["error"]?.objectValue?["message"]?.stringValue ?? "HTTP \(status)"
        switch status {
        case 403 where !message.contains("disabled") && !message.contains("expired") && !message.contains("not valid yet"):
            let who = principal ?? "THIS-IDENTITY"
            return "\(message) Grant read access: sigil role assign \"Vault Secrets User\" --to \(who) --vault \(reference.vault) --secret \(reference.name)"
        case 401: return "\(message) (the token was refused; check the server and the identity)"
        default: return message
        }
    }
}

/// The agent's local managed-identity endpoint, as the variables of `sigil agent env` name it.
enum ManagedIdentityEndpoint {
    /// App Service's protocol: `IDENTITY_ENDPOINT` with `X-IDENTITY-HEADER`.
    case appService(endpoint: String, header: String)
    /// IMDS's protocol at `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    case imds(host: String)

    init?(environment: [String: String]) {
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
