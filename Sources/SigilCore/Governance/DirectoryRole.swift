import Foundation

/// A named set of admin permissions (Graph's `unifiedRoleDefinition`): the built-in roles of
/// DESIGN §5, or a custom role an administrator made with `sigil role create`.
public struct DirectoryRole: Sendable, Equatable {
    public var id: String
    public var tenantId: String?
    public var displayName: String
    public var description: String
    public var permissions: Set<AdminPermission>
    public var createdAt: Date?

    public var isBuiltIn: Bool { tenantId == nil }

    public init(id: String, tenantId: String?, displayName: String, description: String, permissions: Set<AdminPermission>, createdAt: Date? = nil) {
        self.id = id
        self.tenantId = tenantId
        self.displayName = displayName
        self.description = description
        self.permissions = permissions
        self.createdAt = createdAt
    }

    public static let administratorId = "62e90394-69f5-4237-9190-012177145e10"
    public static let credentialRotatorId = "5c7b4a2e-8d1f-4e3a-9b6c-2f0e1d3c4b5a"

    private static let reads: Set<AdminPermission> = [
        .tenantRead, .applicationsRead, .managedIdentitiesRead, .hostsRead, .trustedIssuersRead, .policiesRead, .rolesRead, .logsRead,
        .riskRead, .signingKeysRead, .reportsRead, .alertsRead, .incidentsRead,
    ]

    /// The built-in roles, the same in every tenant; their ids never change.
    public static let builtIn: [DirectoryRole] = [
        DirectoryRole(
            id: administratorId, tenantId: nil, displayName: "Administrator",
            description: "Every permission, over the whole tenant.", permissions: Set(AdminPermission.allCases)),
        DirectoryRole(
            id: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", tenantId: nil, displayName: "Application Administrator",
            description: "Creates and manages applications, managed identities, hosts and trusted issuers, their credentials and grants, and moves apps off their secrets; reads logs and reports.",
            permissions: [
                .tenantRead, .applicationsRead, .applicationsCreate, .applicationsUpdate, .applicationsDelete, .applicationsCredentialsUpdate,
                .applicationsRoleAssignmentsUpdate, .managedIdentitiesRead, .managedIdentitiesWrite, .hostsRead, .hostsWrite,
                .trustedIssuersRead, .trustedIssuersWrite, .policiesRead, .logsRead, .reportsRead, .migrationsWrite,
            ]),
        DirectoryRole(
            id: credentialRotatorId, tenantId: nil, displayName: "Credential Rotator",
            description: "Reads applications and adds and removes their credentials; nothing else. Usually scoped to one application.",
            permissions: [.tenantRead, .applicationsRead, .applicationsCredentialsUpdate]),
        DirectoryRole(
            id: "5d6b6bb7-de71-4623-b4af-96380a352509", tenantId: nil, displayName: "Security Reader",
            description: "Reads everything an administrator can see: directory, policies, roles, logs and risk.", permissions: reads),
        DirectoryRole(
            id: "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f", tenantId: nil, displayName: "Security Operator",
            description: "Security Reader, plus managing risk and alert webhooks, containing and releasing service principals, and reporting leaked secrets and scan bypasses (what CI's scanner needs).",
            permissions: reads.union([.riskManage, .alertsWrite, .incidentsWrite, .secretScanningReport])),
        DirectoryRole(
            id: "4633e4f6-5b55-4a3e-a0d4-5f1a3e0ec8a1", tenantId: nil, displayName: "Vault Secrets User",
            description: "Reads vault secret values.", permissions: [.tenantRead, .vaultSecretsGet]),
        DirectoryRole(
            id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", tenantId: nil, displayName: "Vault Secrets Officer",
            description: "Reads and sets vault secret values.", permissions: [.tenantRead, .vaultSecretsGet, .vaultSecretsSet]),
    ]

    /// Permissions from their names, refusing unknown ones with the list of known ones.
    public static func permissions(named names: [String]) throws(DirectoryRuleViolation) -> Set<AdminPermission> {
        guard !names.isEmpty else {
            throw DirectoryRuleViolation(field: "rolePermissions", message: "a role needs at least one permission")
        }
        var permissions = Set<AdminPermission>()
        for name in names {
            guard let permission = AdminPermission(rawValue: name) else {
                let known = AdminPermission.allCases.map(\.rawValue).sorted().joined(separator: ", ")
                throw DirectoryRuleViolation(field: "rolePermissions", message: "unknown permission '\(name.prefix(128))'; known permissions: \(known)")
            }
            permissions.insert(permission)
        }
        return permissions
    }
}

/// Where a role assignment applies (Graph's `directoryScopeId`): `/` for the tenant,
/// `/applications/{objectId}` for one application, `/vaults/{vaultId}` for one vault and
/// `/vaults/{vaultId}/secrets/{name}` for one secret in it (names are case-insensitive: kept lower-case).
public enum RoleScope: Sendable, Hashable {
    case tenant
    case application(objectId: String)
    case vault(id: String)
    case vaultSecret(vaultId: String, name: String)

    public var directoryScopeId: String {
        switch self {
        case .tenant: "/"
        case .application(let objectId): "/applications/" + objectId
        case .vault(let id): "/vaults/" + id
        case .vaultSecret(let vaultId, let name): "/vaults/\(vaultId)/secrets/\(name)"
        }
    }

    public init?(directoryScopeId: String) {
        let parts = directoryScopeId.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 2 where parts == ["", ""]: self = .tenant
        case 3 where parts[0].isEmpty && parts[1] == "applications" && !parts[2].isEmpty: self = .application(objectId: parts[2])
        case 3 where parts[0].isEmpty && parts[1] == "vaults" && !parts[2].isEmpty: self = .vault(id: parts[2])
        case 5 where parts[0].isEmpty && parts[1] == "vaults" && !parts[2].isEmpty && parts[3] == "secrets" && !parts[4].isEmpty:
            self = .vaultSecret(vaultId: parts[2], name: parts[4].lowercased())
        default: return nil
        }
    }
}

/// A principal's role assignment (Graph's `unifiedRoleAssignment`).
public struct RoleAssignment: Sendable, Equatable {
    public var id: String
    public var tenantId: String
    public var roleId: String
    /// The principal's application object id (its row; the service principal id is on the app).
    public var principalObjectId: String
    public var scope: RoleScope
    public var createdAt: Date

    public init(id: String, tenantId: String, roleId: String, principalObjectId: String, scope: RoleScope, createdAt: Date) {
        self.id = id
        self.tenantId = tenantId
        self.roleId = roleId
        self.principalObjectId = principalObjectId
        self.scope = scope
        self.createdAt = createdAt
    }
}

/// What one caller may do: the permissions of each role it holds, at that assignment's scope.
public struct RoleGrants: Sendable {
    public var grants: [(permissions: Set<AdminPermission>, scope: RoleScope)]

    public init(_ grants: [(permissions: Set<AdminPermission>, scope: RoleScope)]) { self.grants = grants }

    public var isEmpty: Bool { grants.isEmpty }

    /// Whether `permission` holds over the whole tenant.
    public func allowsTenantWide(_ permission: AdminPermission) -> Bool {
        grants.contains { $0.scope == .tenant && $0.permissions.contains(permission) }
    }

    /// Whether `permission` holds for the application `objectId` (a tenant-wide grant covers it).
    public func allows(_ permission: AdminPermission, onApplication objectId: String) -> Bool {
        grants.contains { ($0.scope == .tenant || $0.scope == .application(objectId: objectId)) && $0.permissions.contains(permission) }
    }

    /// Whether any assignment, at any scope, carries `permission`.
    public func allowsAtSomeScope(_ permission: AdminPermission) -> Bool {
        grants.contains { $0.permissions.contains(permission) }
    }

    /// Whether some assignment scoped to one application carries `permission`.
    public func hasApplicationScoped(_ permission: AdminPermission) -> Bool {
        grants.contains {
            guard case .application = $0.scope else { return false }
            return $0.permissions.contains(permission)
        }
    }

    /// Whether `permission` holds in the vault `vaultId` (for one secret when `secret` names it):
    /// a tenant-wide or vault-wide grant covers every secret, a secret's grant only that secret.
    public func allows(_ permission: AdminPermission, onVault vaultId: String, secret: String?) -> Bool {
        grants.contains { grant in
            guard grant.permissions.contains(permission) else { return false }
            switch grant.scope {
            case .tenant: return true
            case .vault(let id): return id == vaultId
            case .vaultSecret(let id, let name): return id == vaultId && secret?.lowercased() == name
            case .application: return false
            }
        }
    }
}
