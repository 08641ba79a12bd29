import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// The secret operations of the Key Vault API (api-version 7.x).
extension KeyVaultAPI {
    func setSecret(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        let body = try await Self.body(request, allowed: ["value", "contentType", "tags", "attributes"])
        guard let value = body["value"]?.stringValue else { throw KeyVaultError.badParameter("'value' is required and must be a string.") }
        try VaultRules.checkValue(value)
        let properties = try Self.properties(body, base: SecretProperties())
        let now = Date()
        let version = SecretVersion(secretName: name, version: VaultRules.newVersion(), properties: properties, createdAt: now, updatedAt: now)
        let stored = try await store.setSecret(
            vaultId: call.vault.id, name: name, version: version,
            seal: { secretId in try kek.ring.seal(value, context: SecretEnvelope.context(secretId: secretId, version: version.version)) },
            audit: call.audit("vault.secret.set", secret: name, version: version.version))
        return .json(KeyVaultJSON.bundle(stored, value: value, vault: call.vault, vaultURL: call.vaultURL))
    }

    func getSecret(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        let version = try Self.version(context)
        guard let stored = try await store.secretVersion(vaultId: call.vault.id, name: name, version: version) else {
            throw KeyVaultError.secretNotFound(VaultRules.notFound(name, version))
        }
        if let refusal = VaultRules.readRefusal(stored.version.properties, now: Date()) { throw KeyVaultError.forbidden(refusal) }
        let value: String
        do {
            value = try kek.ring.open(stored.envelope, context: stored.context)
        } catch {
            logger.error("vault secret \(call.vault.name)/\(stored.version.secretName)/\(stored.version.version) does not open with the key-encryption key")
            throw KeyVaultError(status: .internalServerError, code: "InternalServerError", message: "The secret could not be decrypted; an administrator must check the server's key-encryption key.")
        }
        try await readAudits.submit(call.audit("vault.secret.get", secret: stored.version.secretName, version: stored.version.version))
        return .json(KeyVaultJSON.bundle(stored.version, value: value, vault: call.vault, vaultURL: call.vaultURL))
    }

    func updateSecret(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        let version = try Self.version(context)
        let body = try await Self.body(request, allowed: ["contentType", "tags", "attributes"])
        let now = Date()
        let updated = try await store.updateSecretVersion(
            vaultId: call.vault.id, name: name, version: version, at: now, change: { try Self.properties(body, base: $0) },
            audit: { before, after in
                var event = call.audit("vault.secret.update", secret: after.secretName, version: after.version)
                event.before = Self.auditedProperties(before)
                event.after = Self.auditedProperties(after, vault: call.vault.name)
                return event
            })
        return .json(KeyVaultJSON.bundle(updated, value: nil, vault: call.vault, vaultURL: call.vaultURL))
    }

    func deleteSecret(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        let now = Date()
        let deleted = try await store.deleteSecret(
            vaultId: call.vault.id, name: name, at: now, purgeAt: now.addingTimeInterval(Double(call.vault.retentionDays) * 86_400),
            audit: { call.audit("vault.secret.delete", secret: $0.secretName) })
        return .json(KeyVaultJSON.bundle(deleted.version, deletion: deleted.deletion, value: nil, vault: call.vault, vaultURL: call.vaultURL))
    }

    func listSecrets(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        try await listByName(request, call, deleted: false)
    }

    func listDeletedSecrets(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        try await listByName(request, call, deleted: true)
    }

    /// A page of secrets (or deleted secrets) by name; `$skiptoken` is the last name of the page before.
    func listByName(_ request: Request, _ call: Call, deleted: Bool) async throws -> Response {
        let (limit, token) = try Self.paging(request)
        if let token { try VaultRules.checkSecretName(token) }
        let page = try await store.secrets(vaultId: call.vault.id, deleted: deleted, after: token, limit: limit + 1)
        let shown = Array(page.prefix(limit))
        let collection = deleted ? "deletedsecrets" : "secrets"
        try await readAudits.submit(call.audit(deleted ? "vault.secret.listDeleted" : "vault.secret.list"))
        return .json([
            "value": .array(shown.map { KeyVaultJSON.item($0, withVersion: false, vault: call.vault, vaultURL: call.vaultURL) }),
            "nextLink": page.count > limit ? .string(nextLink(call, collection, token: shown.last!.version.secretName, limit: limit)) : .null,
        ])
    }

    /// A page of one secret's versions in the order they were set; `$skiptoken` is a position.
    func listVersions(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        let (limit, token) = try Self.paging(request)
        var after: Int64 = 0
        if let token {
            guard let position = Int64(token), position >= 0 else { throw KeyVaultError.badParameter("$skiptoken is not one this server wrote.") }
            after = position
        }
        guard let page = try await store.secretVersions(vaultId: call.vault.id, name: name, after: after, limit: limit + 1) else {
            throw KeyVaultError.secretNotFound(VaultRules.notFound(name, nil))
        }
        let shown = Array(page.prefix(limit))
        try await readAudits.submit(call.audit("vault.secret.listVersions", secret: shown.first?.version.secretName ?? name))
        return .json([
            "value": .array(shown.map { KeyVaultJSON.item($0, withVersion: true, vault: call.vault, vaultURL: call.vaultURL) }),
            "nextLink": page.count > limit
                ? .string(nextLink(call, "secrets/\(shown[0].version.secretName)/versions", token: String(after + Int64(limit)), limit: limit)) : .null,
        ])
    }

    func getDeletedSecret(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        guard let stored = try await store.secretVersion(vaultId: call.vault.id, name: name, version: nil, deleted: true) else {
            throw KeyVaultError(status: .notFound, code: "SecretNotFound", message: "Deleted Secret not found: \(name)")
        }
        try await readAudits.submit(call.audit("vault.secret.getDeleted", secret: stored.version.secretName))
        return .json(KeyVaultJSON.bundle(stored.version, deletion: stored.deletion, value: nil, vault: call.vault, vaultURL: call.vaultURL))
    }

    func recoverSecret(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        let recovered = try await store.recoverSecret(vaultId: call.vault.id, name: name, audit: { call.audit("vault.secret.recover", secret: $0.secretName) })
        return .json(KeyVaultJSON.bundle(recovered.version, value: nil, vault: call.vault, vaultURL: call.vaultURL))
    }

    func purgeSecret(_ request: Request, _ context: SigilRequestContext, _ call: Call) async throws -> Response {
        let name = try Self.secretName(context)
        if call.vault.purgeProtection {
            let when = try await store.secretVersion(vaultId: call.vault.id, name: name, version: nil, deleted: true)?.deletion?.scheduledPurgeAt
            throw KeyVaultError.forbidden(
                "Operation \"purge\" is not allowed because purge protection is enabled for this vault; the deleted secret is purged when its retention ends"
                    + (when.map { " (\($0.iso8601))." } ?? "."))
        }
        try await store.purgeSecret(vaultId: call.vault.id, name: name, audit: call.audit("vault.secret.purge", secret: name))
        return Response(status: .noContent)
    }

    // MARK: Input

    static func secretName(_ context: SigilRequestContext) throws -> String {
        let name = try context.parameters.require("name")
        try VaultRules.checkSecretName(name)
        return name
    }

    /// The `{version}` path segment: absent or empty (`secrets/NAME/`) means the latest.
    static func version(_ context: SigilRequestContext) throws -> String? {
        guard let version = context.parameters.get("version"), !version.isEmpty else { return nil }
        guard VaultRules.isVersion(version) else {
            throw KeyVaultError.badParameter("The version '\(OAuthError.quoted(String(version.prefix(64))))' is not a secret version id (32 hex digits).")
        }
        return version
    }

    /// A JSON object body of at most `maximumBodySize` bytes with only `allowed` members.
    static func body(_ request: Request, allowed: Set<String>) async throws -> [String: JSONValue] {
        let bytes: [UInt8]
        do {
            bytes = try await request.collectBody(limit: maximumBodySize)
        } catch {
            throw KeyVaultError(status: .contentTooLarge, code: "RequestBodyTooLarge", message: "The request body is larger than \(maximumBodySize) bytes.")
        }
        guard !bytes.isEmpty else { throw KeyVaultError.badParameter("The request needs a JSON object body.") }
        let members: [String: JSONValue]
        do {
            members = try JSONParser.parseObject(bytes)
        } catch {
            throw KeyVaultError.badParameter("The body is not a valid JSON object: \(error).")
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw KeyVaultError.badParameter("Unknown property '\(OAuthError.quoted(String(unknown.prefix(64))))'. Allowed: \(allowed.sorted().joined(separator: ", ")).")
        }
        return members
    }

    /// `contentType`, `tags` and `attributes` (`enabled`, `nbf`, `exp`; the read-only ones are
    /// ignored, as Key Vault does) applied over `base`.
    static func properties(_ body: [String: JSONValue], base: SecretProperties) throws -> SecretProperties {
        var properties = base
        if let contentType = body["contentType"], contentType != .null {
            guard let text = contentType.stringValue else { throw KeyVaultError.badParameter("'contentType' must be a string.") }
            properties.contentType = text
        }
        if let tags = body["tags"], tags != .null {
            guard let object = tags.objectValue else { throw KeyVaultError.badParameter("'tags' must be an object of strings.") }
            var parsed: [String: String] = [:]
            for (name, value) in object {
                guard let text = value.stringValue else { throw KeyVaultError.badParameter("Tag '\(OAuthError.quoted(String(name.prefix(64))))' must have a string value.") }
                parsed[name] = text
            }
            properties.tags = parsed
        }
        if let attributes = body["attributes"], attributes != .null {
            guard let object = attributes.objectValue else { throw KeyVaultError.badParameter("'attributes' must be an object.") }
            let known: Set<String> = ["enabled", "nbf", "exp", "created", "updated", "recoveryLevel", "recoverableDays"]
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw KeyVaultError.badParameter("Unknown attribute '\(OAuthError.quoted(String(unknown.prefix(64))))'. Allowed: enabled, nbf, exp.")
            }
            if let enabled = object["enabled"], enabled != .null {
                guard case .bool(let flag) = enabled else { throw KeyVaultError.badParameter("'attributes.enabled' must be true or false.") }
                properties.enabled = flag
            }
            for (field, keyPath) in [("nbf", \SecretProperties.notBefore), ("exp", \SecretProperties.expires)] {
                guard let member = object[field] else { continue }
                if member == .null {
                    properties[keyPath: keyPath] = nil
                    continue
                }
                guard let seconds = member.integerValue, (0...253_402_300_799).contains(seconds) else {
                    throw KeyVaultError.badParameter("'attributes.\(field)' must be a time in seconds since 1970, up to the year 9999.")
                }
                properties[keyPath: keyPath] = Date(timeIntervalSince1970: Double(seconds))
            }
        }
        try VaultRules.checkProperties(properties)
        return properties
    }

    /// `maxresults` (1–25, default 25) and `$skiptoken`.
    static func paging(_ request: Request) throws -> (limit: Int, token: String?) {
        let parameters = request.uri.queryParameters
        var limit = maximumResults
        if let text = parameters["maxresults"] {
            guard let number = Int(text), (1...maximumResults).contains(number) else {
                throw KeyVaultError.badParameter("maxresults must be a number from 1 to \(maximumResults).")
            }
            limit = number
        }
        // Key Vault writes `$skiptoken` as it is; clients that re-encode the link send `%24skiptoken`.
        let token = (parameters["$skiptoken"] ?? parameters["%24skiptoken"]).map { String($0).removingPercentEncoding ?? String($0) }
        if let token, token.isEmpty || token.count > 128 { throw KeyVaultError.badParameter("$skiptoken is not one this server wrote.") }
        return (limit, token)
    }

    /// The next page's URL, with `$skiptoken` written as Key Vault writes it.
    func nextLink(_ call: Call, _ collection: String, token: String, limit: Int) -> String {
        "\(call.requestBase)/\(collection)?api-version=\(FormParameters.percentEncode(call.apiVersion))&$skiptoken=\(FormParameters.percentEncode(token))&maxresults=\(limit)"
    }

    /// What an update audit shows of a version: its properties, never its value.
    static func auditedProperties(_ version: SecretVersion, vault: String? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "secret": .string(version.secretName), "version": .string(version.version), "enabled": .bool(version.properties.enabled),
            "contentType": .optional(version.properties.contentType), "tags": .object(version.properties.tags.mapValues(JSONValue.string)),
            "nbf": .optional(version.properties.notBefore?.iso8601), "exp": .optional(version.properties.expires?.iso8601),
        ]
        if let vault { object["vault"] = .string(vault) }
        return .object(object)
    }
}
