import Foundation
import Logging
import SigilCore
import SigilStore

/// The admin key file written on first start: what `sigil login --key` reads to sign its
/// assertions. Mode 0600; the private key never leaves the data folder.
public struct AdminKeyFile: Codable, Sendable {
    public var tenantId: String
    public var clientId: String
    public var kid: String
    public var privateKey: String

    public init(tenantId: String, clientId: String, kid: String, privateKey: String) {
        self.tenantId = tenantId
        self.clientId = clientId
        self.kid = kid
        self.privateKey = privateKey
    }

    public static let fileName = "admin-key.json"
}

/// First start: the default tenant, the admin API application (a resource with an
/// Administrator role) and the bootstrap administrator, whose only credential is a P-256 key.
enum TenantBootstrap {
    static let bootstrapAdminName = "sigil-bootstrap-admin"
    static let tokenExchangeName = "Sigil Token Exchange"

    /// The resource a managed identity asks for when its token stands in for an app's secret
    /// (`api://AzureADTokenExchange`, the audience federated credentials expect by default).
    static func tokenExchangeResource(tenantId: String, now: Date) -> AppRegistration {
        builtInResource(tokenExchangeName, uri: FederationRules.defaultAudience, tenantId: tenantId, now: now)
    }

    static func builtInResource(_ name: String, uri: String, tenantId: String, now: Date) -> AppRegistration {
        AppRegistration(
            objectId: AdminAPI.newId(), appId: AdminAPI.newId(), tenantId: tenantId, servicePrincipalId: AdminAPI.newId(), displayName: name,
            identifierUris: [uri], appRoles: [], appRoleAssignmentRequired: false, accessTokenSigningAlgorithm: .es256,
            enabled: true, createdAt: now)
    }

    /// Adds the token exchange resource to a tenant created before it existed (an upgraded
    /// store), with an audit event; a new tenant gets it with the tenant.
    static func ensureTokenExchangeResource(store: Store, tenant: Tenant, logger: Logger) async throws {
        try await ensureResource(tokenExchangeName, uri: FederationRules.defaultAudience, store: store, tenant: tenant, logger: logger)
    }

    /// The vault resource, `https://VAULT_DOMAIN` (`KeyVaultAPI`): a new tenant has it from the
    /// start; an upgraded one gets it here, and it is given the new identifier when
    /// `--vault-domain` changes.
    static func ensureVaultResource(store: Store, tenant: Tenant, domain: String, logger: Logger) async throws {
        try await ensureResource(KeyVaultAPI.displayName, uri: "https://" + domain, store: store, tenant: tenant, logger: logger)
    }

    /// Makes sure the built-in resource `name` answers to `uri`, creating it or moving it to that
    /// identifier, with an audit event.
    static func ensureResource(_ name: String, uri: String, store: Store, tenant: Tenant, logger: Logger) async throws {
        guard try await store.resource(tenantId: tenant.id, identifier: uri) == nil else { return }
        let now = Date()
        func audit(_ action: String, _ app: AppRegistration) -> AuditEvent {
            AuditEvent(
                time: now, tenantId: tenant.id, actorId: "sigil", actorName: "sigil", action: action, targetType: "application",
                targetId: app.objectId, after: ["displayName": .string(name), "identifierUris": [.string(uri)]], ipAddress: "local",
                correlationId: AdminAPI.newId())
        }
        do {
            if var existing = try await store.application(tenantId: tenant.id, reference: name) {
                existing.identifierUris = [uri]
                try await store.updateApplication(existing, audit: audit("application.update", existing))
                logger.notice("the resource '\(name)' now answers to \(uri)")
            } else {
                let app = builtInResource(name, uri: uri, tenantId: tenant.id, now: now)
                try await store.createApplication(app, audit: audit("application.create", app))
                logger.info("created the resource '\(name)' (\(uri))")
            }
        } catch StoreError.conflict {
            // Another replica did the same at the same moment, or another app holds the identifier.
        }
    }

    /// Returns the default tenant, creating it (and the admin key file) when the store has none.
    static func ensureDefaultTenant(store: Store, folder: DataFolder, vaultDomain: String, logger: Logger) async throws -> (tenant: Tenant, created: Bool) {
        if let tenant = try await store.defaultTenant() { return (tenant, false) }
        let now = Date()
        let tenant = Tenant(id: AdminAPI.newId(), displayName: "Default tenant", createdAt: now)
        let adminAPI = AppRegistration(
            objectId: AdminAPI.newId(), appId: AdminAPI.newId(), tenantId: tenant.id, servicePrincipalId: AdminAPI.newId(), displayName: AdminAPI.displayName,
            identifierUris: [AdminAPI.identifierUri], appRoles: [], appRoleAssignmentRequired: true,
            accessTokenSigningAlgorithm: .es256, enabled: true, createdAt: now)
        let admin = AppRegistration(
            objectId: AdminAPI.newId(), appId: AdminAPI.newId(), tenantId: tenant.id, servicePrincipalId: AdminAPI.newId(), displayName: bootstrapAdminName,
            identifierUris: [], appRoles: [], appRoleAssignmentRequired: false, accessTokenSigningAlgorithm: .es256, enabled: true, createdAt: now)
        let key = try SigningKey.generate(for: .es256)
        let kid = key.publicKey.thumbprint
        let credential = KeyCredential.jwk(
            key.publicKey, kid: kid, keyId: AdminAPI.newId(), applicationId: admin.objectId, displayName: "bootstrap admin key", now: now)

        // The key file is written (atomically) before the tenant commits: a crash in between
        // leaves an unused file, never a tenant whose administrator has no key.
        let keyFile = AdminKeyFile(tenantId: tenant.id, clientId: admin.appId, kid: kid, privateKey: key.pemRepresentation)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try folder.write(AdminKeyFile.fileName, String(decoding: try encoder.encode(keyFile), as: UTF8.self), secret: true)

        let created = try await store.createDefaultTenant(tenant) { database in
            try await Store.insertApplication(adminAPI, on: database)
            try await Store.insertApplication(admin, on: database)
            try await Store.insertApplication(tokenExchangeResource(tenantId: tenant.id, now: now), on: database)
            try await Store.insertApplication(builtInResource(KeyVaultAPI.displayName, uri: "https://" + vaultDomain, tenantId: tenant.id, now: now), on: database)
            try await Store.insertKeyCredential(credential, on: database)
            // Secretless from the start: new apps may not add client secrets until an admin opts out.
            try await Store.insertAppManagementPolicy(.secretlessDefault(tenantCreatedAt: now), tenantId: tenant.id, on: database)
            try await Store.insertRoleAssignment(
                RoleAssignment(
                    id: AdminAPI.newId(), tenantId: tenant.id, roleId: DirectoryRole.administratorId, principalObjectId: admin.objectId,
                    scope: .tenant, createdAt: now),
                on: database)
        }
        guard created else {
            // Another replica created the tenant first; its key file is the one that works.
            try? FileManager.default.removeItem(atPath: folder.path(AdminKeyFile.fileName))
            guard let tenant = try await store.defaultTenant() else { throw StoreError.unavailable("the default tenant vanished") }
            return (tenant, false)
        }
        logger.info("created default tenant \(tenant.id) and bootstrap administrator \(admin.appId)")
        return (tenant, true)
    }
}

