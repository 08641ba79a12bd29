import Foundation
import SQLKit
import SigilCore

/// The two kinds of credential an application holds.
public enum CredentialKind: String, Sendable, CaseIterable {
    case password = "passwordCredential"
    case key = "keyCredential"
    case federated = "federatedIdentityCredential"

    /// The table the credentials of this kind are rows of, and the column that names one.
    var table: (name: String, id: String) {
        switch self {
        case .password: ("password_credentials", "key_id")
        case .key: ("key_credentials", "key_id")
        case .federated: ("federated_credentials", "id")
        }
    }

    /// What a sentence calls a credential of this kind.
    public var noun: String {
        switch self {
        case .password: "client secret"
        case .key: "key credential"
        case .federated: "federated credential"
        }
    }
}

/// One credential of one application, by kind and id (a keyId, or a federated credential's id).
public struct CredentialReference: Sendable, Hashable {
    public var kind: CredentialKind
    public var applicationId: String
    public var id: String

    public init(kind: CredentialKind, applicationId: String, id: String) {
        self.kind = kind
        self.applicationId = applicationId
        self.id = id
    }
}

extension Store {
    // MARK: Tenants

    /// Creates the default tenant with `setUp` run in the same transaction; returns `false` when a
    /// default tenant already exists (another replica got there first), in which case nothing is written.
    public func createDefaultTenant(_ tenant: Tenant, setUp: @Sendable (any SQLDatabase) async throws -> Void) async throws -> Bool {
        do {
            try await transaction { database in
                try await database.raw("""
                    INSERT INTO tenants (id, display_name, is_default, created_at)
                    VALUES (\(bind: tenant.id), \(bind: tenant.displayName), 1, \(bind: tenant.createdAt.epochMilliseconds))
                    """).run()
                try await setUp(database)
            }
            return true
        } catch where Self.isUniqueViolation(error) {
            return false
        }
    }

    public func defaultTenant() async throws -> Tenant? {
        try await read { database in
            try await database.raw("SELECT * FROM tenants WHERE is_default = 1").first().map(Self.tenant)
        }
    }

    public func tenant(id: String) async throws -> Tenant? {
        try await read { database in
            try await database.raw("SELECT * FROM tenants WHERE id = \(bind: id)").first().map(Self.tenant)
        }
    }

    static func tenant(_ row: any SQLRow) throws -> Tenant {
        Tenant(id: try row.string("id"), displayName: try row.string("display_name"), createdAt: try row.date("created_at"))
    }

    // MARK: Applications

    /// Inserts an application, its service principal, identifier URIs and roles, with its audit event.
    public func createApplication(_ app: AppRegistration, audit: AuditEvent) async throws {
        try await transaction { database in
            try await Self.insertApplication(app, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Inserts an application inside a caller's transaction (bootstrap uses this).
    public static func insertApplication(_ app: AppRegistration, on database: any SQLDatabase) async throws {
        do {
            try await database.raw("""
                INSERT INTO applications (object_id, tenant_id, app_id, service_principal_id, display_name, display_name_key,
                    app_role_assignment_required, access_token_alg, enabled, created_at, kind, host_id)
                VALUES (\(bind: app.objectId), \(bind: app.tenantId), \(bind: app.appId), \(bind: app.servicePrincipalId),
                    \(bind: app.displayName), \(bind: app.displayName.lowercased()), \(bind: app.appRoleAssignmentRequired ? 1 : 0),
                    \(bind: app.accessTokenSigningAlgorithm.rawValue), \(bind: app.enabled ? 1 : 0), \(bind: app.createdAt.epochMilliseconds),
                    \(bind: app.kind.rawValue), \(bind: app.hostId))
                """).run()
        } catch where isUniqueViolation(error) {
            throw StoreError.conflict("an application or managed identity named '\(app.displayName)' already exists in this tenant")
        }
        for uri in app.identifierUris {
            try await insertIdentifierUri(uri, tenantId: app.tenantId, applicationId: app.objectId, on: database)
        }
        for role in app.appRoles {
            try await insertAppRole(role, applicationId: app.objectId, on: database)
        }
    }

    static func insertIdentifierUri(_ uri: String, tenantId: String, applicationId: String, on database: any SQLDatabase) async throws {
        do {
            try await database.raw("""
                INSERT INTO identifier_uris (tenant_id, uri, application_id) VALUES (\(bind: tenantId), \(bind: uri), \(bind: applicationId))
                """).run()
        } catch where isUniqueViolation(error) {
            throw StoreError.conflict("the identifier URI '\(uri)' is already used by another application in this tenant")
        }
    }

    static func insertAppRole(_ role: AppRole, applicationId: String, on database: any SQLDatabase) async throws {
        do {
            try await database.raw("""
                INSERT INTO app_roles (id, application_id, value, display_name, description)
                VALUES (\(bind: role.id), \(bind: applicationId), \(bind: role.value), \(bind: role.displayName), \(bind: role.description))
                """).run()
        } catch where isUniqueViolation(error) {
            throw StoreError.conflict("the application already has a role with value '\(role.value)'")
        }
    }

    /// Finds an application (or, when `kinds` says so, a managed identity) by objectId, appId,
    /// service principal id, display name (case-insensitive) or identifier URI.
    public func application(tenantId: String, reference: String, kinds: Set<PrincipalKind> = [.application]) async throws -> AppRegistration? {
        try await read { database in
            let row = try await database.raw("""
                SELECT * FROM applications WHERE tenant_id = \(bind: tenantId) AND kind IN (\(Self.kindList(kinds))) AND (object_id = \(bind: reference)
                    OR app_id = \(bind: reference) OR service_principal_id = \(bind: reference) OR display_name_key = \(bind: reference.lowercased())
                    OR object_id IN (SELECT application_id FROM identifier_uris WHERE tenant_id = \(bind: tenantId) AND uri = \(bind: reference)))
                ORDER BY CASE WHEN app_id = \(bind: reference) THEN 0 ELSE 1 END
                LIMIT 1
                """).first()
            guard let row else { return nil }
            return try await Self.loadApplications([row], on: database).first
        }
    }

    static func kindList(_ kinds: Set<PrincipalKind>) -> SQLList { SQLList(kinds.map { SQLBind($0.rawValue) }) }

    /// Finds the application or managed identity a token request names as its client (`client_id` is an appId).
    public func application(tenantId: String, appId: String) async throws -> AppRegistration? {
        try await read { database in
            let row = try await database.raw("SELECT * FROM applications WHERE tenant_id = \(bind: tenantId) AND app_id = \(bind: appId)").first()
            guard let row else { return nil }
            return try await Self.loadApplications([row], on: database).first
        }
    }

    /// Finds the resource a scope names: by identifier URI, or by appId. Managed identities are
    /// clients only, never resources.
    public func resource(tenantId: String, identifier: String) async throws -> AppRegistration? {
        try await read { database in
            let row = try await database.raw("""
                SELECT * FROM applications WHERE tenant_id = \(bind: tenantId) AND kind = 'application' AND (app_id = \(bind: identifier)
                    OR object_id IN (SELECT application_id FROM identifier_uris WHERE tenant_id = \(bind: tenantId) AND uri = \(bind: identifier)))
                LIMIT 1
                """).first()
            guard let row else { return nil }
            return try await Self.loadApplications([row], on: database).first
        }
    }

    public func applications(tenantId: String, kinds: Set<PrincipalKind> = [.application], limit: Int = 1000) async throws -> [AppRegistration] {
        try await read { database in
            let rows = try await database.raw("""
                SELECT * FROM applications WHERE tenant_id = \(bind: tenantId) AND kind IN (\(Self.kindList(kinds)))
                ORDER BY display_name_key LIMIT \(bind: limit)
                """).all()
            return try await Self.loadApplications(rows, on: database)
        }
    }

    static func loadApplications(_ rows: [any SQLRow], on database: any SQLDatabase) async throws -> [AppRegistration] {
        guard !rows.isEmpty else { return [] }
        var apps: [AppRegistration] = try rows.map { row in
            AppRegistration(
                objectId: try row.string("object_id"), appId: try row.string("app_id"), tenantId: try row.string("tenant_id"),
                servicePrincipalId: try row.string("service_principal_id"), displayName: try row.string("display_name"),
                identifierUris: [], appRoles: [], appRoleAssignmentRequired: try row.bool("app_role_assignment_required"),
                accessTokenSigningAlgorithm: JWSAlgorithm(rawValue: try row.string("access_token_alg")) ?? .es256,
                enabled: try row.bool("enabled"), createdAt: try row.date("created_at"),
                kind: PrincipalKind(rawValue: try row.string("kind")) ?? .application, hostId: try row.optionalString("host_id")
            )
        }
        let ids = apps.map(\.objectId)
        let index = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        let idList = SQLList(ids.map { SQLBind($0) })
        for row in try await database.raw("SELECT * FROM identifier_uris WHERE application_id IN (\(idList)) ORDER BY uri").all() {
            if let position = index[try row.string("application_id")] { apps[position].identifierUris.append(try row.string("uri")) }
        }
        for row in try await database.raw("SELECT * FROM app_roles WHERE application_id IN (\(idList)) ORDER BY value").all() {
            if let position = index[try row.string("application_id")] {
                apps[position].appRoles.append(AppRole(
                    id: try row.string("id"), value: try row.string("value"), displayName: try row.string("display_name"),
                    description: try row.string("description")))
            }
        }
        return apps
    }

    /// Replaces the mutable fields of an application.
    public func updateApplication(_ app: AppRegistration, audit: AuditEvent) async throws {
        try await transaction { database in
            do {
                try await database.raw("""
                    UPDATE applications SET display_name = \(bind: app.displayName), display_name_key = \(bind: app.displayName.lowercased()),
                        app_role_assignment_required = \(bind: app.appRoleAssignmentRequired ? 1 : 0),
                        access_token_alg = \(bind: app.accessTokenSigningAlgorithm.rawValue), enabled = \(bind: app.enabled ? 1 : 0)
                    WHERE object_id = \(bind: app.objectId)
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("an application or managed identity named '\(app.displayName)' already exists in this tenant")
            }
            try await database.raw("DELETE FROM identifier_uris WHERE application_id = \(bind: app.objectId)").run()
            for uri in app.identifierUris {
                try await Self.insertIdentifierUri(uri, tenantId: app.tenantId, applicationId: app.objectId, on: database)
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Deletes an application with everything that hangs off it.
    public func deleteApplication(objectId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            try await Self.deleteApplicationRows(objectId: objectId, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Deletes an application's rows and everything that hangs off them, inside a caller's transaction.
    static func deleteApplicationRows(objectId: String, on database: any SQLDatabase) async throws {
        for table in ["app_role_assignments WHERE principal_app_id", "app_role_assignments WHERE resource_app_id",
            "password_credentials WHERE application_id", "key_credentials WHERE application_id",
            "federated_credentials WHERE application_id", "identity_assignments WHERE identity_id", "app_management_policy_assignments WHERE application_id", "host_rules WHERE identity_id",
            "app_roles WHERE application_id", "identifier_uris WHERE application_id", "applications WHERE object_id"]
        {
            try await database.raw("DELETE FROM \(unsafeRaw: table) = \(bind: objectId)").run()
        }
    }

    public func addAppRole(_ role: AppRole, applicationId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            try await Self.insertAppRole(role, applicationId: applicationId, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    // MARK: Credentials

    /// Adds a client secret with its audit event. `enforce` sees the app management policy in
    /// force for the app, read in the same transaction, and refuses by throwing.
    public func addPasswordCredential(_ credential: PasswordCredential, audit: AuditEvent, enforce: PolicyEnforcement = { _, _ in }) async throws {
        try await transaction { database in
            try await Self.insertPasswordCredential(credential, enforce: enforce, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Adds a client secret inside a caller's transaction, once `enforce` accepts it under the
    /// app management policy in force.
    static func insertPasswordCredential(_ credential: PasswordCredential, enforce: PolicyEnforcement, on database: any SQLDatabase) async throws {
        try await enforcePolicy(applicationId: credential.applicationId, enforce, on: database)
        try await database.raw("""
            INSERT INTO password_credentials (key_id, application_id, display_name, hint, salt, digest, start_at, end_at, created_at, custom)
            VALUES (\(bind: credential.keyId), \(bind: credential.applicationId), \(bind: credential.displayName), \(bind: credential.hint),
                \(bind: credential.hash.salt.base64EncodedString()), \(bind: credential.hash.digest.base64EncodedString()),
                \(bind: credential.startDateTime.epochMilliseconds), \(bind: credential.endDateTime.epochMilliseconds),
                \(bind: Date().epochMilliseconds), \(bind: credential.custom ? 1 : 0))
            """).run()
    }

    public func passwordCredentials(applicationId: String) async throws -> [PasswordCredential] {
        try await read { database in
            try await database.raw("SELECT * FROM password_credentials WHERE application_id = \(bind: applicationId) ORDER BY start_at")
                .all().map(Self.passwordCredential)
        }
    }

    static func passwordCredential(_ row: any SQLRow) throws -> PasswordCredential {
        PasswordCredential(
            keyId: try row.string("key_id"), applicationId: try row.string("application_id"),
            displayName: try row.string("display_name"), hint: try row.string("hint"),
            hash: SecretHash(salt: Data(base64Encoded: try row.string("salt")) ?? Data(), digest: Data(base64Encoded: try row.string("digest")) ?? Data()),
            startDateTime: try row.date("start_at"), endDateTime: try row.date("end_at"),
            revokedAt: try row.optionalDate("revoked_at"), revokedReason: try row.optionalString("revoked_reason"),
            disabledAt: try row.optionalDate("disabled_at"), custom: try row.bool("custom"))
    }

    /// Disables (`disabled` true) or enables credentials, with their audit events, in one
    /// transaction; `notFound` (and nothing changed) when one of them does not exist.
    public func setCredentialsDisabled(_ credentials: [CredentialReference], disabled: Bool, at time: Date, audit: [AuditEvent]) async throws {
        try await transaction { database in
            try await Self.setCredentialsDisabled(credentials, disabled: disabled, at: time, on: database)
            for event in audit { try await Self.insertAudit(event, on: database) }
        }
    }

    /// The statements of `setCredentialsDisabled`, for callers that change more in the same
    /// transaction. Disabling a credential already disabled keeps its first time.
    public static func setCredentialsDisabled(_ credentials: [CredentialReference], disabled: Bool, at time: Date, on database: any SQLDatabase) async throws {
        for credential in credentials {
            let (table, id) = credential.kind.table
            let value: SQLQueryString = disabled ? "COALESCE(disabled_at, \(bind: time.epochMilliseconds))" : "NULL"
            let changed = try await database.raw("""
                UPDATE \(unsafeRaw: table) SET disabled_at = \(value)
                WHERE application_id = \(bind: credential.applicationId) AND \(unsafeRaw: id) = \(bind: credential.id) RETURNING \(unsafeRaw: id)
                """).all()
            guard !changed.isEmpty else { throw StoreError.notFound("the application has no \(credential.kind.noun) with id '\(credential.id)'") }
        }
    }

    /// Removes a credential; `notFound` when the app has no credential of that kind with that id.
    public func removeCredential(_ kind: CredentialKind, applicationId: String, keyId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            let (table, id) = kind.table
            let removed = try await database.raw("""
                DELETE FROM \(unsafeRaw: table) WHERE application_id = \(bind: applicationId) AND \(unsafeRaw: id) = \(bind: keyId) RETURNING \(unsafeRaw: id)
                """).all()
            guard !removed.isEmpty else {
                throw StoreError.notFound("the application has no \(kind.noun) with id '\(keyId)'")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Adds a key or certificate with its audit event, once `enforce` accepts it under the
    /// app management policy in force (read in the same transaction).
    public func addKeyCredential(_ credential: KeyCredential, audit: AuditEvent, enforce: PolicyEnforcement = { _, _ in }) async throws {
        try await transaction { database in
            try await Self.enforcePolicy(applicationId: credential.applicationId, enforce, on: database)
            do {
                try await Self.insertKeyCredential(credential, on: database)
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("the application already has this key registered (kid '\(credential.kid)')")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    public static func insertKeyCredential(_ credential: KeyCredential, on database: any SQLDatabase) async throws {
        try await database.raw("""
            INSERT INTO key_credentials (key_id, application_id, kind, display_name, kid, x5t, x5t_s256, material, start_at, end_at, created_at)
            VALUES (\(bind: credential.keyId), \(bind: credential.applicationId), \(bind: credential.kind.rawValue), \(bind: credential.displayName),
                \(bind: credential.kid), \(bind: credential.x5t), \(bind: credential.x5tS256), \(bind: credential.material),
                \(bind: credential.startDateTime.epochMilliseconds), \(bind: credential.endDateTime?.epochMilliseconds), \(bind: Date().epochMilliseconds))
            """).run()
    }

    public func keyCredentials(applicationId: String) async throws -> [KeyCredential] {
        try await read { database in
            try await database.raw("SELECT * FROM key_credentials WHERE application_id = \(bind: applicationId) ORDER BY start_at")
                .all().map(Self.keyCredential)
        }
    }

    static func keyCredential(_ row: any SQLRow) throws -> KeyCredential {
        KeyCredential(
            keyId: try row.string("key_id"), applicationId: try row.string("application_id"),
            kind: KeyCredential.Kind(rawValue: try row.string("kind")) ?? .jwk, displayName: try row.string("display_name"),
            kid: try row.string("kid"), x5t: try row.optionalString("x5t"), x5tS256: try row.optionalString("x5t_s256"),
            material: try row.string("material"), startDateTime: try row.date("start_at"), endDateTime: try row.optionalDate("end_at"),
            disabledAt: try row.optionalDate("disabled_at"))
    }

    // MARK: Role assignments

    public func addAppRoleAssignment(_ assignment: AppRoleAssignment, principalAppId: String, resourceAppId: String, tenantId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            do {
                try await database.raw("""
                    INSERT INTO app_role_assignments (id, tenant_id, principal_app_id, resource_app_id, app_role_id, created_at)
                    VALUES (\(bind: assignment.id), \(bind: tenantId), \(bind: principalAppId), \(bind: resourceAppId),
                        \(bind: assignment.appRoleId), \(bind: assignment.createdAt.epochMilliseconds))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("'\(assignment.principalDisplayName)' already holds role '\(assignment.appRoleValue)' of '\(assignment.resourceDisplayName)'")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Removes the assignment `id` of the tenant and returns it.
    @discardableResult
    public func removeAppRoleAssignment(
        id: String, tenantId: String, audit: (AppRoleAssignment, _ principalObjectId: String) -> AuditEvent
    ) async throws -> AppRoleAssignment {
        try await transaction { database in
            guard let assignment = try await Self.assignments(where: "a.id = \(bind: id) AND a.tenant_id = \(bind: tenantId)", on: database).first else {
                throw StoreError.notFound("There is no app role assignment \(id) in this tenant; list them with `sigil app show APP`.")
            }
            let principal = try await database.raw("DELETE FROM app_role_assignments WHERE id = \(bind: id) RETURNING principal_app_id").first()
            try await Self.insertAudit(audit(assignment, try principal?.string("principal_app_id") ?? ""), on: database)
            return assignment
        }
    }

    /// Removes the role `roleId` from the application; refused while anyone holds it, so that
    /// no grant disappears as a side effect.
    public func removeAppRole(_ roleId: String, applicationId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            try await lockRole(roleId, on: database)
            let holders = try await Self.assignments(where: "a.app_role_id = \(bind: roleId)", on: database)
            guard holders.isEmpty else {
                let names = holders.map(\.principalDisplayName).joined(separator: ", ")
                throw StoreError.conflict(
                    "the role is granted to \(names); remove those grants first (sigil app grant remove CLIENT RESOURCE ROLE)")
            }
            try await database.raw("DELETE FROM app_roles WHERE id = \(bind: roleId) AND application_id = \(bind: applicationId)").run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// On PostgreSQL, holds the role's row until the transaction ends, so two changes that count
    /// the role's holders take turns (SQLite's writer is one at a time already).
    private func lockRole(_ roleId: String, on database: any SQLDatabase) async throws {
        guard dialect == .postgres else { return }
        try await database.raw("SELECT id FROM app_roles WHERE id = \(bind: roleId) FOR UPDATE").run()
    }

    /// The role values of `resourceAppId` that `principalAppId` holds.
    public func grantedRoles(principalAppId: String, resourceAppId: String) async throws -> [String] {
        try await read { database in
            try await database.raw("""
                SELECT r.value FROM app_role_assignments a JOIN app_roles r ON r.id = a.app_role_id
                WHERE a.principal_app_id = \(bind: principalAppId) AND a.resource_app_id = \(bind: resourceAppId)
                """).all().map { try $0.string("value") }
        }
    }

    /// Assignments where the application is the principal or the resource.
    public func appRoleAssignments(applicationId: String) async throws -> [AppRoleAssignment] {
        try await read { database in
            try await Self.assignments(where: "a.principal_app_id = \(bind: applicationId) OR a.resource_app_id = \(bind: applicationId)", on: database)
        }
    }

    static func assignments(where condition: SQLQueryString, on database: any SQLDatabase) async throws -> [AppRoleAssignment] {
        try await database.raw("""
            SELECT a.id, a.created_at, a.app_role_id, r.value, p.service_principal_id AS principal_id, p.display_name AS principal_name,
                s.service_principal_id AS resource_id, s.display_name AS resource_name
            FROM app_role_assignments a JOIN app_roles r ON r.id = a.app_role_id
                JOIN applications p ON p.object_id = a.principal_app_id JOIN applications s ON s.object_id = a.resource_app_id
            WHERE \(condition)
            ORDER BY a.created_at
            """).all().map { row in
                AppRoleAssignment(
                    id: try row.string("id"), principalId: try row.string("principal_id"), principalDisplayName: try row.string("principal_name"),
                    resourceId: try row.string("resource_id"), resourceDisplayName: try row.string("resource_name"),
                    appRoleId: try row.string("app_role_id"), appRoleValue: try row.string("value"), createdAt: try row.date("created_at"))
            }
    }
}
