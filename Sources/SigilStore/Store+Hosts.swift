import Foundation
import SQLKit
import SigilCore

/// A host key with the host it belongs to: what the token endpoint checks an agent's assertion against.
public struct HostKey: Sendable, Equatable {
    public var hostId: String
    public var key: KeyCredential
}

/// Why an enrollment was refused.
public enum EnrollmentError: Error, Sendable, Equatable {
    case unknownToken
    case alreadyUsed(Date)
    case expired(Date)
}

extension Store {
    // MARK: Hosts

    /// Creates a host with its system-assigned identity; the join token is kept as its SHA-256
    /// (the token is 238 random bits, so an unsalted digest is a safe lookup key).
    public func createHost(_ host: EnrolledHost, systemIdentity: AppRegistration, joinTokenDigest: String, audit: AuditEvent) async throws {
        try await transaction { database in
            try await Self.insertApplication(systemIdentity, on: database)
            do {
                try await database.raw("""
                    INSERT INTO hosts (id, tenant_id, name, name_key, system_identity_id, join_token_hash, join_expires_at, created_at)
                    VALUES (\(bind: host.id), \(bind: host.tenantId), \(bind: host.name), \(bind: host.name.lowercased()),
                        \(bind: host.systemIdentityId), \(bind: joinTokenDigest), \(bind: (host.joinTokenExpiresAt ?? host.createdAt).epochMilliseconds),
                        \(bind: host.createdAt.epochMilliseconds))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("a host named '\(host.name)' already exists in this tenant")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    static func host(_ row: any SQLRow) throws -> EnrolledHost {
        EnrolledHost(
            id: try row.string("id"), tenantId: try row.string("tenant_id"), name: try row.string("name"),
            systemIdentityId: try row.string("system_identity_id"), createdAt: try row.date("created_at"),
            enrolledAt: try row.optionalDate("enrolled_at"), joinTokenExpiresAt: try row.optionalDate("join_expires_at"),
            reportedHostname: try row.optionalString("reported_hostname"))
    }

    public func hosts(tenantId: String) async throws -> [EnrolledHost] {
        try await read { database in
            try await database.raw("SELECT * FROM hosts WHERE tenant_id = \(bind: tenantId) ORDER BY name_key").all().map(Self.host)
        }
    }

    /// Finds a host by id or name (case-insensitive).
    public func host(tenantId: String, reference: String) async throws -> EnrolledHost? {
        try await read { database in
            try await database.raw("""
                SELECT * FROM hosts WHERE tenant_id = \(bind: tenantId) AND (id = \(bind: reference) OR name_key = \(bind: reference.lowercased()))
                """).first().map(Self.host)
        }
    }

    public func host(id: String) async throws -> EnrolledHost? {
        try await read { database in try await database.raw("SELECT * FROM hosts WHERE id = \(bind: id)").first().map(Self.host) }
    }

    /// Uses a join token: registers the host's first key, once, before the token expires.
    public func enrollHost(joinTokenDigest: String, key: (EnrolledHost) -> KeyCredential, reportedHostname: String?, now: Date, audit: (EnrolledHost) -> AuditEvent) async throws -> EnrolledHost {
        try await transaction { database in
            guard let row = try await database.raw("SELECT * FROM hosts WHERE join_token_hash = \(bind: joinTokenDigest)").first() else {
                throw EnrollmentError.unknownToken
            }
            var host = try Self.host(row)
            if let enrolledAt = host.enrolledAt { throw EnrollmentError.alreadyUsed(enrolledAt) }
            if let expiry = host.joinTokenExpiresAt, expiry <= now { throw EnrollmentError.expired(expiry) }
            let claimed = try await database.raw("""
                UPDATE hosts SET enrolled_at = \(bind: now.epochMilliseconds), reported_hostname = \(bind: reportedHostname)
                WHERE id = \(bind: host.id) AND enrolled_at IS NULL RETURNING id
                """).all()
            guard !claimed.isEmpty else { throw EnrollmentError.alreadyUsed(now) }
            host.enrolledAt = now
            host.reportedHostname = reportedHostname
            try await Self.insertKeyCredential(key(host), on: database)
            try await Self.insertAudit(audit(host), on: database)
            return host
        }
    }

    /// Removes a host with its system-assigned identity (and so its keys), its assignments and rules.
    public func removeHost(_ host: EnrolledHost, audit: AuditEvent) async throws {
        try await transaction { database in
            try await database.raw("DELETE FROM host_rules WHERE host_id = \(bind: host.id)").run()
            try await database.raw("DELETE FROM identity_assignments WHERE host_id = \(bind: host.id)").run()
            try await database.raw("DELETE FROM hosts WHERE id = \(bind: host.id)").run()
            try await Self.deleteApplicationRows(objectId: host.systemIdentityId, on: database)
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Replaces a host's key: the new key is added, the others stop working after `grace`, and
    /// keys already past their end are deleted.
    public func rotateHostKey(_ key: KeyCredential, now: Date, grace: TimeInterval, audit: AuditEvent) async throws {
        try await transaction { database in
            let until = now.addingTimeInterval(grace).epochMilliseconds
            try await database.raw("""
                DELETE FROM key_credentials WHERE application_id = \(bind: key.applicationId) AND end_at IS NOT NULL AND end_at < \(bind: now.epochMilliseconds)
                """).run()
            try await database.raw("""
                UPDATE key_credentials SET end_at = \(bind: until)
                WHERE application_id = \(bind: key.applicationId) AND (end_at IS NULL OR end_at > \(bind: until))
                """).run()
            do {
                try await Self.insertKeyCredential(key, on: database)
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("this key is already registered for the host")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// The host's system-assigned identity.
    public func systemIdentity(of host: EnrolledHost) async throws -> AppRegistration? {
        try await application(tenantId: host.tenantId, reference: host.systemIdentityId, kinds: [.systemAssignedIdentity])
    }

    // MARK: Assignments

    public func assignIdentity(hostId: String, identityId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            do {
                try await database.raw("""
                    INSERT INTO identity_assignments (host_id, identity_id, created_at)
                    VALUES (\(bind: hostId), \(bind: identityId), \(bind: Date().epochMilliseconds))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("the identity is already assigned to this host")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Unassigns an identity from a host, with the host's rules that handed it out.
    public func unassignIdentity(hostId: String, identityId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            let removed = try await database.raw("""
                DELETE FROM identity_assignments WHERE host_id = \(bind: hostId) AND identity_id = \(bind: identityId) RETURNING host_id
                """).all()
            guard !removed.isEmpty else { throw StoreError.notFound("the identity is not assigned to this host") }
            try await database.raw("DELETE FROM host_rules WHERE host_id = \(bind: hostId) AND identity_id = \(bind: identityId)").run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// The user-assigned identities assigned to a host.
    public func assignedIdentities(hostId: String) async throws -> [AppRegistration] {
        try await read { database in
            let rows = try await database.raw("""
                SELECT a.* FROM identity_assignments i JOIN applications a ON a.object_id = i.identity_id
                WHERE i.host_id = \(bind: hostId) ORDER BY a.display_name_key
                """).all()
            return try await Self.loadApplications(rows, on: database)
        }
    }

    /// The hosts a user-assigned identity is assigned to.
    public func hosts(assignedIdentityId: String) async throws -> [EnrolledHost] {
        try await read { database in
            try await database.raw("""
                SELECT h.* FROM identity_assignments i JOIN hosts h ON h.id = i.host_id
                WHERE i.identity_id = \(bind: assignedIdentityId) ORDER BY h.name_key
                """).all().map(Self.host)
        }
    }

    /// The keys of every host that may vouch for `identityId`: its own host for a system-assigned
    /// identity, the hosts it is assigned to for a user-assigned one.
    public func hostKeys(identityId: String) async throws -> [HostKey] {
        try await read { database in
            try await database.raw("""
                SELECT k.*, h.id AS owning_host FROM hosts h JOIN key_credentials k ON k.application_id = h.system_identity_id
                WHERE h.system_identity_id = \(bind: identityId)
                    OR h.id IN (SELECT host_id FROM identity_assignments WHERE identity_id = \(bind: identityId))
                """).all().map { row in HostKey(hostId: try row.string("owning_host"), key: try Self.keyCredential(row)) }
        }
    }

    // MARK: Rules

    public func addHostRule(_ rule: HostRule, hostId: String, identityId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            do {
                try await database.raw("""
                    INSERT INTO host_rules (id, host_id, identity_id, selectors, created_at)
                    VALUES (\(bind: rule.id), \(bind: hostId), \(bind: identityId), \(bind: rule.selectorText), \(bind: Date().epochMilliseconds))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("the host already has this rule for this identity")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// A host's rules, with the appId of the identity each hands out.
    public func hostRules(hostId: String) async throws -> [HostRule] {
        try await read { database in
            try await database.raw("""
                SELECT r.id, r.selectors, a.app_id FROM host_rules r JOIN applications a ON a.object_id = r.identity_id
                WHERE r.host_id = \(bind: hostId) ORDER BY r.created_at, r.id
                """).all().map { row in
                    try HostRule(id: try row.string("id"), identityAppId: try row.string("app_id"), selectorText: try row.string("selectors"))
                }
        }
    }

    public func removeHostRule(hostId: String, ruleId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            let removed = try await database.raw("DELETE FROM host_rules WHERE host_id = \(bind: hostId) AND id = \(bind: ruleId) RETURNING id").all()
            guard !removed.isEmpty else { throw StoreError.notFound("the host has no rule '\(ruleId)'") }
            try await Self.insertAudit(audit, on: database)
        }
    }
}

extension Store {
    /// Finds a service principal by appId in any tenant (appIds are unique across the store):
    /// the agent's own endpoints carry no tenant in their path.
    public func principal(appId: String) async throws -> AppRegistration? {
        try await read { database in
            guard let row = try await database.raw("SELECT * FROM applications WHERE app_id = \(bind: appId)").first() else { return nil }
            return try await Self.loadApplications([row], on: database).first
        }
    }
}
