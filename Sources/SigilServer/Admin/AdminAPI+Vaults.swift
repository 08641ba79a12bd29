import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Vaults (DESIGN §6): created, listed, changed and deleted here; their secrets are served by
/// the Key Vault-compatible API (`KeyVaultAPI`).
extension AdminAPI {

    var vaultRoutes: [AdminRoute] {
        [
            AdminRoute(.post, "vaults", .vaultsWrite, handler: createVault),
            AdminRoute(.get, "vaults", .vaultsRead) { _, _, caller in
                .json(["value": .array(try await store.vaults(tenantId: caller.tenant.id).map { AdminJSON.vault($0, addressing: vaultAddressing) })])
            },
            AdminRoute(.get, "vaults/{vault}", .vaultsRead) { _, context, caller in
                .json(AdminJSON.vault(try await vault(try Self.pathParameter(context, "vault"), caller), addressing: vaultAddressing))
            },
            AdminRoute(.patch, "vaults/{vault}", .vaultsWrite, handler: updateVault),
            AdminRoute(.delete, "vaults/{vault}", .vaultsWrite, handler: deleteVault),
        ]
    }

    /// A vault of the caller's tenant, by name or id.
    func vault(_ reference: String, _ caller: AdminCaller) async throws -> Vault {
        let all = try await store.vaults(tenantId: caller.tenant.id)
        guard let vault = all.first(where: { $0.id == reference || $0.name == reference.lowercased() }) else {
            throw AdminError.notFound("No vault '\(OAuthError.quoted(reference))' in this tenant; `sigil vault list` shows them.")
        }
        return vault
    }

    func createVault(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["name", "softDeleteRetentionInDays", "enablePurgeProtection"])
        let name = try body.requiredString("name")
        try VaultRules.checkVaultName(name)
        let retention = try Self.retentionDays(body) ?? VaultRules.defaultRetentionDays
        let vault = Vault(
            id: Self.newId(), tenantId: caller.tenant.id, name: name.lowercased(), retentionDays: retention,
            purgeProtection: try body.bool("enablePurgeProtection") ?? false, createdAt: Date())
        let json = AdminJSON.vault(vault, addressing: vaultAddressing)
        try await store.createVault(vault, audit: caller.audit("vault.create", targetType: "vault", targetId: vault.id, after: json))
        return .json(json, status: .created, headers: [.location: "/admin/v1/vaults/\(vault.name)"])
    }

    func updateVault(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let vault = try await vault(try Self.pathParameter(context, "vault"), caller)
        let body = try await body(request, allowed: ["softDeleteRetentionInDays", "enablePurgeProtection"])
        let retention = try Self.retentionDays(body)
        let protection = try body.bool("enablePurgeProtection")
        let updated = try await store.updateVault(id: vault.id, change: { stored in
            var changed = stored
            if let retention { changed.retentionDays = retention }
            if let protection {
                guard protection || !stored.purgeProtection else {
                    throw AdminError.conflict(
                        "Purge protection cannot be turned off once on: deleted secrets in '\(stored.name)' are purged only when their retention ends.")
                }
                changed.purgeProtection = protection
            }
            return changed
        }, audit: { before, after in
            caller.audit(
                "vault.update", targetType: "vault", targetId: vault.id, before: AdminJSON.vault(before, addressing: vaultAddressing),
                after: AdminJSON.vault(after, addressing: vaultAddressing))
        })
        return .json(AdminJSON.vault(updated, addressing: vaultAddressing))
    }

    func deleteVault(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let vault = try await vault(try Self.pathParameter(context, "vault"), caller)
        try await store.deleteVault(id: vault.id, audit: caller.audit(
            "vault.delete", targetType: "vault", targetId: vault.id, before: AdminJSON.vault(vault, addressing: vaultAddressing)))
        return Response(status: .noContent)
    }

    /// `softDeleteRetentionInDays`: 7–90.
    static func retentionDays(_ body: JSONBody) throws -> Int? {
        guard let value = body.members["softDeleteRetentionInDays"], value != .null else { return nil }
        guard let days = value.integerValue else {
            throw AdminError.badRequest("softDeleteRetentionInDays must be a whole number of days from 7 to 90.", target: "softDeleteRetentionInDays")
        }
        try VaultRules.checkRetention(Int(clamping: days))
        return Int(days)
    }
}
