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
        AppRegistration(
            objectId: AdminAPI.newId(), appId: AdminAPI.newId(), tenantId: tenantId, servicePrincipalId: AdminAPI.newId(), displayName: tokenExchangeName,
            identifierUris: [FederationRules.defaultAudience], appRoles: [], appRoleAssignmentRequired: false, accessTokenSigningAlgorithm: .es256,
            enabled: true, createdAt: now)
    }

    /// Adds the token exchange resource to a tenant created before it existed (an upgraded
    /// store), with an audit event; a new tenant gets it with the tenant.
    static func ensureTokenExchangeResource(store: Store, tenant: Tenant, logger: Logger) async throws {
        guard try await store.resource(tenantId: tenant.id, identifier: FederationRules.defaultAudience) == nil else { return }
        let app = tokenExchangeResource(tenantId: tenant.id, now: Date())
        do {
            try await store.createApplication(app, audit: AuditEvent(
                time: Date(), tenantId: tenant.id, actorId: "sigil", actorName: "sigil", action: "application.create", targetType: "application",
                targetId: app.objectId, after: ["displayName": .string(tokenExchangeName)], ipAddress: "local", correlationId: AdminAPI.newId()))
            logger.info("created the token exchange resource \(FederationRules.defaultAudience)")
        } catch StoreError.conflict {
            // Another replica created it at the same moment.
        }
    }

    /// Returns the default tenant, creating it (and the admin key file) when the store has none.
    static func ensureDefaultTenant(store: Store, folder: DataFolder, logger: Logger) async throws -> (tenant: Tenant, created: Bool) {
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

