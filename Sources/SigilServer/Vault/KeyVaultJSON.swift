import Foundation
import SigilCore
import SigilStore

/// Key Vault's secret shapes: `SecretBundle`, `DeletedSecretBundle`, `SecretItem` and
/// `DeletedSecretItem`. Ids are always the vault's host-based URL, which the SDKs parse.
enum KeyVaultJSON {
    /// A version's `attributes`: times in epoch seconds, as Key Vault writes them.
    static func attributes(_ version: SecretVersion, vault: Vault) -> JSONValue {
        var object: [String: JSONValue] = [
            "enabled": .bool(version.properties.enabled), "created": .integer(seconds(version.createdAt)),
            "updated": .integer(seconds(version.updatedAt)), "recoveryLevel": .string(vault.recoveryLevel),
            "recoverableDays": .integer(Int64(vault.retentionDays)),
        ]
        if let notBefore = version.properties.notBefore { object["nbf"] = .integer(seconds(notBefore)) }
        if let expires = version.properties.expires { object["exp"] = .integer(seconds(expires)) }
        return .object(object)
    }

    /// A secret version: with its value when `value` is given (get and set), without it otherwise.
    static func bundle(_ version: SecretVersion, deletion: SecretDeletion? = nil, value: String?, vault: Vault, vaultURL: String) -> JSONValue {
        var object = common(version, deletion: deletion, vault: vault, id: "\(vaultURL)/secrets/\(version.secretName)/\(version.version)", vaultURL: vaultURL)
        if let value { object["value"] = .string(value) }
        return .object(object)
    }

    /// A list entry: a secret (its latest version's properties, id without a version) or one version.
    static func item(_ stored: StoredSecretVersion, withVersion: Bool, vault: Vault, vaultURL: String) -> JSONValue {
        let id = "\(vaultURL)/secrets/\(stored.version.secretName)" + (withVersion ? "/\(stored.version.version)" : "")
        return .object(common(stored.version, deletion: stored.deletion, vault: vault, id: id, vaultURL: vaultURL))
    }

    private static func common(_ version: SecretVersion, deletion: SecretDeletion?, vault: Vault, id: String, vaultURL: String) -> [String: JSONValue] {
        var object: [String: JSONValue] = ["id": .string(id), "attributes": attributes(version, vault: vault)]
        if let contentType = version.properties.contentType { object["contentType"] = .string(contentType) }
        if !version.properties.tags.isEmpty { object["tags"] = .object(version.properties.tags.mapValues(JSONValue.string)) }
        if version.managed { object["managed"] = true }
        if let deletion {
            object["recoveryId"] = .string("\(vaultURL)/deletedsecrets/\(version.secretName)")
            object["deletedDate"] = .integer(seconds(deletion.deletedAt))
            object["scheduledPurgeDate"] = .integer(seconds(deletion.scheduledPurgeAt))
        }
        return object
    }

    static func seconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }
}
