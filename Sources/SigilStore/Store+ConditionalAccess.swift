import Foundation
import SQLKit
import SigilCore

/// Named locations and Conditional Access policies. Every change is one transaction with its
/// audit event that bumps the directory generation, so every replica's token path evaluates
/// the new policies from its next request on.
extension Store {
    // MARK: Named locations

    public func namedLocations(tenantId: String) async throws -> [NamedLocation] {
        try await read { database in
            try await database.raw("SELECT * FROM named_locations WHERE tenant_id = \(bind: tenantId) ORDER BY display_name_key")
                .all().map(Self.namedLocation)
        }
    }

    /// A location by id or display name (case-insensitive).
    public func namedLocation(tenantId: String, reference: String) async throws -> NamedLocation? {
        try await read { database in
            try await database.raw("""
                SELECT * FROM named_locations WHERE tenant_id = \(bind: tenantId) AND (id = \(bind: reference) OR display_name_key = \(bind: reference.lowercased()))
                """).first().map(Self.namedLocation)
        }
    }

    static func namedLocation(_ row: any SQLRow) throws -> NamedLocation {
        NamedLocation(
            id: try row.string("id"), displayName: try row.string("display_name"), isTrusted: try row.bool("is_trusted"),
            ranges: try row.string("ip_ranges").split(separator: " ").map { try CIDRRange(String($0)) },
            createdAt: try row.date("created_at"), modifiedAt: try row.date("modified_at"))
    }

    /// Creates or (`replacing`) updates a location; a display name already taken is a conflict.
    public func saveNamedLocation(_ location: NamedLocation, tenantId: String, replacing: Bool, audit: AuditEvent) async throws {
        try await transaction { database in
            let ranges = location.ranges.map(\.description).joined(separator: " ")
            do {
                if replacing {
                    try await database.raw("""
                        UPDATE named_locations SET display_name = \(bind: location.displayName), display_name_key = \(bind: location.displayName.lowercased()),
                            is_trusted = \(bind: location.isTrusted ? 1 : 0), ip_ranges = \(bind: ranges), modified_at = \(bind: location.modifiedAt.epochMilliseconds)
                        WHERE tenant_id = \(bind: tenantId) AND id = \(bind: location.id)
                        """).run()
                } else {
                    try await database.raw("""
                        INSERT INTO named_locations (id, tenant_id, display_name, display_name_key, is_trusted, ip_ranges, created_at, modified_at)
                        VALUES (\(bind: location.id), \(bind: tenantId), \(bind: location.displayName), \(bind: location.displayName.lowercased()),
                            \(bind: location.isTrusted ? 1 : 0), \(bind: ranges), \(bind: location.createdAt.epochMilliseconds), \(bind: location.modifiedAt.epochMilliseconds))
                        """).run()
                }
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("a named location called '\(location.displayName)' already exists in this tenant")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Deletes a location no policy refers to; one still referred to is a conflict naming the policies.
    public func deleteNamedLocation(id: String, tenantId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            try await Self.lockPolicies(tenantId: tenantId, on: database, dialect: dialect)
            let users = try await Self.policies(tenantId: tenantId, on: database).filter { policy in
                guard let locations = policy.locations else { return false }
                return locations.include.contains(id) || locations.exclude.contains(id)
            }
            guard users.isEmpty else {
                throw StoreError.conflict(
                    "the location is used by the policies \(users.map { "'\($0.displayName)'" }.joined(separator: ", ")); remove it from them first")
            }
            try await database.raw("DELETE FROM named_locations WHERE tenant_id = \(bind: tenantId) AND id = \(bind: id)").run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    // MARK: Policies

    /// The tenant's policies in evaluation order (oldest first).
    public func conditionalAccessPolicies(tenantId: String) async throws -> [ConditionalAccessPolicy] {
        try await read { database in try await Self.policies(tenantId: tenantId, on: database) }
    }

    /// A policy by id or display name (case-insensitive).
    public func conditionalAccessPolicy(tenantId: String, reference: String) async throws -> ConditionalAccessPolicy? {
        try await read { database in
            try await database.raw("""
                SELECT * FROM conditional_access_policies
                WHERE tenant_id = \(bind: tenantId) AND (id = \(bind: reference) OR display_name_key = \(bind: reference.lowercased()))
                """).first().map(Self.policy)
        }
    }

    static func policies(tenantId: String, on database: any SQLDatabase) async throws -> [ConditionalAccessPolicy] {
        try await database.raw("SELECT * FROM conditional_access_policies WHERE tenant_id = \(bind: tenantId) ORDER BY created_at, id")
            .all().map(Self.policy)
    }

    static func policy(_ row: any SQLRow) throws -> ConditionalAccessPolicy {
        var policy = ConditionalAccessPolicy(
            id: try row.string("id"), displayName: try row.string("display_name"),
            state: ConditionalAccessPolicy.State(rawValue: try row.string("state")) ?? .disabled, includeServicePrincipals: [],
            createdAt: try row.date("created_at"), modifiedAt: try row.date("modified_at"))
        try policy.apply(["conditions": try JSONParser.parse(Array(try row.string("conditions").utf8))])
        return policy
    }

    /// Creates, replaces or (`policy` nil) deletes the policy `id`, after checking inside the
    /// transaction that every location it names still exists, and records the tenant's new list
    /// of policies for the sign-in log.
    public func saveConditionalAccessPolicy(
        _ policy: ConditionalAccessPolicy?, id: String, tenantId: String, replacing: Bool, audit: AuditEvent
    ) async throws {
        try await transaction { database in
            try await Self.lockPolicies(tenantId: tenantId, on: database, dialect: dialect)
            if let policy, let locations = policy.locations {
                let named = Set(locations.include + locations.exclude).subtracting([ConditionalAccessPolicy.all, ConditionalAccessPolicy.allTrusted])
                let found = Set(try await database.raw("SELECT id FROM named_locations WHERE tenant_id = \(bind: tenantId)").all().map { try $0.string("id") })
                if let missing = named.subtracting(found).sorted().first {
                    throw StoreError.notFound("no named location '\(missing)' in this tenant (it may just have been deleted)")
                }
            }
            let conditions = policy.map { ($0.json.objectValue?["conditions"] ?? .null).serialized() }
            do {
                switch (policy, replacing) {
                case (nil, _):
                    try await database.raw("DELETE FROM conditional_access_policies WHERE tenant_id = \(bind: tenantId) AND id = \(bind: id)").run()
                case (let policy?, true):
                    try await database.raw("""
                        UPDATE conditional_access_policies SET display_name = \(bind: policy.displayName), display_name_key = \(bind: policy.displayName.lowercased()),
                            state = \(bind: policy.state.rawValue), conditions = \(bind: conditions), modified_at = \(bind: policy.modifiedAt.epochMilliseconds)
                        WHERE tenant_id = \(bind: tenantId) AND id = \(bind: id)
                        """).run()
                case (let policy?, false):
                    try await database.raw("""
                        INSERT INTO conditional_access_policies (id, tenant_id, display_name, display_name_key, state, conditions, created_at, modified_at)
                        VALUES (\(bind: id), \(bind: tenantId), \(bind: policy.displayName), \(bind: policy.displayName.lowercased()),
                            \(bind: policy.state.rawValue), \(bind: conditions), \(bind: policy.createdAt.epochMilliseconds), \(bind: policy.modifiedAt.epochMilliseconds))
                        """).run()
                }
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("a Conditional Access policy called '\(policy?.displayName ?? id)' already exists in this tenant")
            }
            let snapshot = PolicySetSnapshot(policies: try await Self.policies(tenantId: tenantId, on: database))
            try await database.raw("""
                INSERT INTO conditional_access_policy_sets (id, policies, created_at)
                VALUES (\(bind: snapshot.id), \(bind: snapshot.json), \(bind: Date().epochMilliseconds)) ON CONFLICT (id) DO NOTHING
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// PostgreSQL: one policy change per tenant at a time, so each transaction's list of the
    /// tenant's policies is the one it commits (SQLite's writer is single already).
    static func lockPolicies(tenantId: String, on database: any SQLDatabase, dialect: Dialect) async throws {
        guard dialect == .postgres else { return }
        try await database.raw("SELECT id FROM tenants WHERE id = \(bind: tenantId) FOR UPDATE").run()
    }

    // MARK: Impact analysis

    /// What counts as a sign-in that reached the Conditional Access step: authenticated, so it
    /// got a token or a policy blocked it.
    static let reachedConditionalAccess: SQLQueryString = "(succeeded = 1 OR error_code = \(unsafeRaw: String(OAuthError.conditionalAccessCode)))"

    /// Sign-ins since `since` that reached the Conditional Access step, grouped per service
    /// principal and address.
    public func signInGroups(tenantId: String, since: Date) async throws -> [ImpactAnalysis.Group] {
        try await read { database in
            try await database.raw("""
                SELECT service_principal_id, app_id, MAX(app_display_name) AS app_name, ip_address, COUNT(*) AS sign_ins, MAX(time) AS last_time
                FROM sign_ins WHERE tenant_id = \(bind: tenantId) AND time >= \(bind: since.epochMilliseconds)
                    AND service_principal_id IS NOT NULL AND \(Self.reachedConditionalAccess)
                GROUP BY service_principal_id, app_id, ip_address
                """).all().map { row in
                    ImpactAnalysis.Group(
                        servicePrincipalId: try row.string("service_principal_id"), appId: try row.string("app_id"),
                        appDisplayName: try row.optionalString("app_name"), ipAddress: try row.string("ip_address"),
                        signIns: Int(try row.int64("sign_ins")), lastSignIn: try row.date("last_time"))
                }
        }
    }

    /// The latest sign-ins of one group that reached the Conditional Access step, newest first.
    public func signIns(of group: ImpactAnalysis.Group, tenantId: String, since: Date, limit: Int) async throws -> [SignInEvent] {
        try await read { database in
            try await database.raw("""
                SELECT * FROM sign_ins WHERE tenant_id = \(bind: tenantId) AND app_id = \(bind: group.appId) AND time >= \(bind: since.epochMilliseconds)
                    AND ip_address = \(bind: group.ipAddress) AND service_principal_id = \(bind: group.servicePrincipalId) AND \(Self.reachedConditionalAccess)
                ORDER BY time DESC, id LIMIT \(bind: limit)
                """).all().map(Self.signIn)
        }
    }
}
