import Foundation
import Hummingbird
import Logging
import SigilCore
import SigilStore

/// The Key Vault-compatible secrets API (DESIGN §6), served twice: at each vault's own host name
/// (`https://NAME.VAULT_DOMAIN/secrets/...`, what the Azure SDKs expect) and under
/// `/vaults/NAME/` on the main host (for clients that turn the challenge check off, and the CLI).
/// Callers present bearer tokens for the vault resource; what they may do comes from their
/// directory roles (Vault Secrets User / Officer), scoped to the tenant, the vault or one secret.
/// Every read and change is audited with the caller, vault, secret and version, never a value.
struct KeyVaultAPI {
    static let displayName = "Sigil Vault"
    /// Request bodies up to this size: a 25 KB value written entirely in `\uXXXX` escapes fits.
    static let maximumBodySize = 256 * 1024
    /// Key Vault's largest page.
    static let maximumResults = 25

    let store: Store
    let keys: SigningKeyRing
    /// Read `kek.ring` at each seal and open: a key-encryption key rotation changes it.
    let kek: KeyEncryptionKeys
    let addressing: VaultAddressing
    let urls: ServerURLs
    let logger: Logger
    /// The audit events of reads, written in groups: a read answers once its event is committed,
    /// and reads arriving meanwhile share the next commit (as the token endpoint's sign-ins do).
    let readAudits: BatchedWork<AuditEvent, Void>

    init(store: Store, keys: SigningKeyRing, kek: KeyEncryptionKeys, addressing: VaultAddressing, urls: ServerURLs, logger: Logger) {
        self.store = store
        self.keys = keys
        self.kek = kek
        self.addressing = addressing
        self.urls = urls
        self.logger = logger
        readAudits = BatchedWork(maximumBatch: 256) { [store] events in
            do {
                try await store.recordAudits(events)
                return events.map { _ in .success(()) }
            } catch {
                return events.map { _ in .failure(error) }
            }
        }
    }

    /// One authorised vault request: who calls, which vault, and where its lists page from.
    struct Call {
        let tenant: Tenant
        let app: AppRegistration
        let vault: Vault
        /// `https://NAME.VAULT_DOMAIN[:PORT]`: the base of every id.
        let vaultURL: String
        /// Where this request addressed the vault (host-based or `/vaults/NAME`), for `nextLink`.
        let requestBase: String
        let apiVersion: String
        let ipAddress: String
        let correlationId: String

        /// An audit event naming the caller, the vault, and the secret and version when there is one.
        func audit(_ action: String, secret: String? = nil, version: String? = nil, succeeded: Bool = true, permission: AdminPermission? = nil) -> AuditEvent {
            var detail: [String: JSONValue] = ["vault": .string(vault.name)]
            if let secret { detail["secret"] = .string(secret) }
            if let version { detail["version"] = .string(version) }
            if let permission { detail["permission"] = .string(permission.rawValue) }
            let target = [vault.name, secret, version].compactMap { $0 }.joined(separator: "/")
            return AuditEvent(
                time: Date(), tenantId: tenant.id, actorId: app.servicePrincipalId, actorName: app.displayName, action: action,
                targetType: "vaultSecret", targetId: target, after: .object(detail), ipAddress: ipAddress, succeeded: succeeded,
                correlationId: correlationId)
        }
    }

    typealias Handler = @Sendable (Request, SigilRequestContext, Call) async throws -> Response

    /// One operation: method, path under the vault, the permission it needs, and whether the
    /// permission may come from a grant on the one secret the path names.
    struct Operation {
        let method: HTTPRequest.Method
        let path: String
        let permission: AdminPermission
        let secretScoped: Bool
        let handler: Handler
    }

    var operations: [Operation] {
        [
            Operation(method: .put, path: "secrets/{name}", permission: .vaultSecretsSet, secretScoped: true, handler: setSecret),
            Operation(method: .get, path: "secrets/{name}", permission: .vaultSecretsGet, secretScoped: true, handler: getSecret),
            Operation(method: .get, path: "secrets/{name}/{version}", permission: .vaultSecretsGet, secretScoped: true, handler: getSecret),
            Operation(method: .patch, path: "secrets/{name}", permission: .vaultSecretsSet, secretScoped: true, handler: updateSecret),
            Operation(method: .patch, path: "secrets/{name}/{version}", permission: .vaultSecretsSet, secretScoped: true, handler: updateSecret),
            Operation(method: .delete, path: "secrets/{name}", permission: .vaultSecretsSet, secretScoped: true, handler: deleteSecret),
            Operation(method: .get, path: "secrets", permission: .vaultSecretsGet, secretScoped: false, handler: listSecrets),
            Operation(method: .get, path: "secrets/{name}/versions", permission: .vaultSecretsGet, secretScoped: true, handler: listVersions),
            Operation(method: .get, path: "deletedsecrets", permission: .vaultSecretsSet, secretScoped: false, handler: listDeletedSecrets),
            Operation(method: .get, path: "deletedsecrets/{name}", permission: .vaultSecretsSet, secretScoped: true, handler: getDeletedSecret),
            Operation(method: .post, path: "deletedsecrets/{name}/recover", permission: .vaultSecretsSet, secretScoped: true, handler: recoverSecret),
            Operation(method: .delete, path: "deletedsecrets/{name}", permission: .vaultSecretsSet, secretScoped: true, handler: purgeSecret),
        ]
    }

    func register(on router: Router<SigilRequestContext>) {
        for operation in operations {
            router.on(RouterPath(operation.path), method: operation.method, use: authorized(operation, hostBased: true))
            router.on(RouterPath("vaults/{vault}/" + operation.path), method: operation.method, use: authorized(operation, hostBased: false))
        }
    }

    /// Wraps an operation with the vault lookup, the api-version check, authentication (a
    /// challenge when there is no valid token) and the role check, and shapes every failure as
    /// Key Vault does.
    func authorized(_ operation: Operation, hostBased: Bool) -> @Sendable (Request, SigilRequestContext) async throws -> Response {
        { request, context in
            let correlationId = TokenEndpoint.correlationId(request)
            do {
                let call = try await authorize(operation, hostBased: hostBased, request, context, correlationId: correlationId)
                return try await operation.handler(request, context, call)
            } catch let refusal as Challenge {
                return refusal.response(requestId: correlationId)
            } catch {
                let vaultError = KeyVaultError(error)
                if vaultError.status == .internalServerError { logger.error("vault API failure: \(error)") }
                return vaultError.response(requestId: correlationId)
            }
        }
    }

    /// A `401` with Key Vault's challenge: where to get a token (the vault's tenant) and for what.
    struct Challenge: Error {
        let authority: String
        let resource: String
        let message: String
        let missing: Bool

        func response(requestId: String) -> Response {
            var response = KeyVaultError(status: .unauthorized, code: "Unauthorized", message: message).response(requestId: requestId)
            var header = "Bearer authorization=\"\(authority)\", resource=\"\(resource)\""
            if !missing { header += ", error=\"invalid_token\"" }
            response.headers[.wwwAuthenticate] = header
            return response
        }
    }

    func authorize(
        _ operation: Operation, hostBased: Bool, _ request: Request, _ context: SigilRequestContext, correlationId: String
    ) async throws -> Call {
        let name: String
        if hostBased {
            guard let fromHost = addressing.vaultName(host: request.head.authority) else {
                throw KeyVaultError(
                    status: .notFound, code: "NotFound",
                    message: "This host is not a vault. Address a vault as https://NAME.\(addressing.domain) or \(urls.baseURL)/vaults/NAME/.")
            }
            name = fromHost
        } else {
            name = try context.parameters.require("vault")
        }
        guard let vault = try await store.vault(named: name) else {
            throw KeyVaultError(status: .notFound, code: "VaultNotFound", message: "There is no vault named '\(OAuthError.quoted(name))' on this server.")
        }
        let apiVersion = try Self.apiVersion(request)
        let tenant: Tenant
        let app: AppRegistration
        do {
            (tenant, app) = try await AccessTokenVerifier(store: store, keys: keys, urls: urls)
                .verify(request.headers[.authorization], resource: addressing.resource, scope: addressing.challengeResource + "/.default")
        } catch let rejection as AccessTokenVerifier.Rejection {
            throw Challenge(
                authority: urls.authority(tenantId: vault.tenantId), resource: addressing.challengeResource,
                message: rejection.missing ? "AKV10000: Request is missing a Bearer or PoP token." : rejection.message, missing: rejection.missing)
        }
        guard tenant.id == vault.tenantId else {
            throw Challenge(
                authority: urls.authority(tenantId: vault.tenantId), resource: addressing.challengeResource,
                message: "The bearer token is for another tenant than the vault's (\(vault.tenantId)).", missing: false)
        }
        let call = Call(
            tenant: tenant, app: app, vault: vault, vaultURL: addressing.vaultURL(vault.name),
            requestBase: hostBased ? addressing.vaultURL(vault.name) : "\(urls.baseURL)/vaults/\(vault.name)", apiVersion: apiVersion,
            ipAddress: context.clientAddress, correlationId: correlationId)
        let secret = operation.secretScoped ? try context.parameters.require("name") : nil
        let grants = try await store.roleGrants(tenantId: tenant.id, principalObjectId: app.objectId)
        guard grants.allows(operation.permission, onVault: vault.id, secret: secret) else {
            try? await readAudits.submit(call.audit("vault.denied", secret: secret, succeeded: false, permission: operation.permission))
            let role = operation.permission == .vaultSecretsGet ? "Vault Secrets User" : "Vault Secrets Officer"
            let scope = secret.map { "secret '\(OAuthError.quoted($0))' in vault '\(vault.name)'" } ?? "vault '\(vault.name)'"
            throw KeyVaultError.forbidden(
                "'\(app.displayName)' lacks the permission \(operation.permission.rawValue) on \(scope). Assign it with `sigil role assign \"\(role)\" --to \"\(app.displayName)\" --vault \(vault.name)`.",
                innerCode: "ForbiddenByRbac")
        }
        return call
    }

    /// `api-version`: required; Key Vault's `7.x` (7.0–7.6) or its later dated versions
    /// (`YYYY-MM-DD` from 2025 on, which azure-keyvault-secrets 4.11 and later send), each with or
    /// without a `-preview` suffix. The secrets API these cover is the same.
    static func apiVersion(_ request: Request) throws -> String {
        let supported = "7.0 to 7.6 or a dated version such as 2025-07-01"
        guard let version = request.uri.queryParameters["api-version"].map(String.init) else {
            throw KeyVaultError.badParameter("The api-version query parameter is missing; use \(supported).")
        }
        guard isSupported(version) else {
            throw KeyVaultError.badParameter("The specified version (\(OAuthError.quoted(String(version.prefix(32))))) is not recognized; use \(supported).")
        }
        return version
    }

    static func isSupported(_ version: String) -> Bool {
        var text = Substring(version)
        if text.hasSuffix("-preview") { text = text.dropLast("-preview".count) }
        let numbers = text.split(separator: ".", omittingEmptySubsequences: false)
        if numbers.count == 2, numbers[0] == "7", let minor = Int(numbers[1]), (0...6).contains(minor), numbers[1].count == 1 { return true }
        let date = text.split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3, date[0].count == 4, date[1].count == 2, date[2].count == 2,
            let year = Int(date[0]), let month = Int(date[1]), let day = Int(date[2])
        else { return false }
        return year >= 2025 && year <= 2099 && (1...12).contains(month) && (1...31).contains(day)
    }
}
