import Foundation
import SQLKit
import SigilCore

/// The principal a dashboard code or session belongs to.
public struct DashboardPrincipal: Sendable, Equatable {
    public var tenantId: String
    /// The application's object id.
    public var objectId: String
    public var servicePrincipalId: String
    public var displayName: String

    public init(tenantId: String, objectId: String, servicePrincipalId: String, displayName: String) {
        self.tenantId = tenantId
        self.objectId = objectId
        self.servicePrincipalId = servicePrincipalId
        self.displayName = displayName
    }
}

/// What exchanging a one-time dashboard code came to.
public enum DashboardCodeExchange: Sendable, Equatable {
    /// The code was good: the session is stored.
    case signedIn(DashboardPrincipal)
    /// No such code was issued (or it is more than a day past its expiry).
    case unknown
    /// The code was exchanged before.
    case used
    /// The code's five minutes have passed.
    case expired
}

extension Store {
    // MARK: Dashboard sign-in

    /// Codes and sessions are kept this long past their expiry, so a late or repeated code is
    /// answered "expired" or "already used" rather than "unknown".
    static let dashboardRetention: Int64 = 86_400_000

    /// Stores a one-time code (its SHA-256) for `principal`, with its audit event; codes and
    /// sessions more than a day past their expiry are swept in the same transaction.
    public func createDashboardCode(digest: String, principal: DashboardPrincipal, at now: Date, expiresAt: Date, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let cutoff = now.epochMilliseconds - Self.dashboardRetention
            try await database.raw("DELETE FROM dashboard_codes WHERE expires_at < \(bind: cutoff)").run()
            try await database.raw("DELETE FROM dashboard_sessions WHERE expires_at < \(bind: cutoff)").run()
            try await database.raw("""
                INSERT INTO dashboard_codes (code_hash, tenant_id, principal_id, created_at, expires_at)
                VALUES (\(bind: digest), \(bind: principal.tenantId), \(bind: principal.objectId), \(bind: now.epochMilliseconds),
                    \(bind: expiresAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Exchanges a code for a session in one transaction: the single `UPDATE … WHERE used_at IS
    /// NULL` lets exactly one of two concurrent exchanges win. The session (its SHA-256) and the
    /// audit event are written with it; a refused code changes nothing.
    public func exchangeDashboardCode(
        digest: String, sessionDigest: String, at now: Date, sessionExpiresAt: Date, audit: (DashboardPrincipal) -> AuditEvent
    ) async throws -> DashboardCodeExchange {
        try await transaction(changesDirectory: false) { database in
            let claimed = try await database.raw("""
                UPDATE dashboard_codes SET used_at = \(bind: now.epochMilliseconds)
                WHERE code_hash = \(bind: digest) AND used_at IS NULL AND expires_at > \(bind: now.epochMilliseconds)
                RETURNING principal_id
                """).first()
            guard let claimed else {
                guard let row = try await database.raw("SELECT used_at FROM dashboard_codes WHERE code_hash = \(bind: digest)").first() else {
                    return .unknown
                }
                return try row.optionalInt64("used_at") == nil ? .expired : .used
            }
            guard let principal = try await Self.dashboardPrincipal(objectId: try claimed.string("principal_id"), on: database) else { return .unknown }
            try await database.raw("""
                INSERT INTO dashboard_sessions (session_hash, tenant_id, principal_id, created_at, expires_at)
                VALUES (\(bind: sessionDigest), \(bind: principal.tenantId), \(bind: principal.objectId), \(bind: now.epochMilliseconds),
                    \(bind: sessionExpiresAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit(principal), on: database)
            return .signedIn(principal)
        }
    }

    /// The principal of a session that has not expired, or nil.
    public func dashboardSession(digest: String, at now: Date) async throws -> DashboardPrincipal? {
        try await read { database in
            guard let row = try await database.raw("""
                SELECT principal_id FROM dashboard_sessions WHERE session_hash = \(bind: digest) AND expires_at > \(bind: now.epochMilliseconds)
                """).first()
            else { return nil }
            return try await Self.dashboardPrincipal(objectId: try row.string("principal_id"), on: database)
        }
    }

    /// Ends a session (sign-out), with its audit event; nothing when it is already gone.
    public func deleteDashboardSession(digest: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            let deleted = try await database.raw("DELETE FROM dashboard_sessions WHERE session_hash = \(bind: digest) RETURNING session_hash").all()
            if !deleted.isEmpty { try await Self.insertAudit(audit, on: database) }
        }
    }

    static func dashboardPrincipal(objectId: String, on database: any SQLDatabase) async throws -> DashboardPrincipal? {
        try await database.raw("""
            SELECT tenant_id, object_id, service_principal_id, display_name FROM applications WHERE object_id = \(bind: objectId)
            """).first().map { row in
                DashboardPrincipal(
                    tenantId: try row.string("tenant_id"), objectId: try row.string("object_id"),
                    servicePrincipalId: try row.string("service_principal_id"), displayName: try row.string("display_name"))
            }
    }

    // MARK: Dashboard figures

    /// Successful sign-ins of a tenant per UTC day and credential type in `[since, until)`; a
    /// day with none has no entry.
    public func signInCountsByCredentialType(tenantId: String, since: Date, until: Date) async throws -> [(day: Date, credentialType: String, count: Int)] {
        try await read { database in
            try await database.raw("""
                SELECT time / 86400000 AS day, credential_type, COUNT(*) AS sign_ins FROM sign_ins
                WHERE tenant_id = \(bind: tenantId) AND succeeded = 1 AND credential_type IS NOT NULL
                    AND time >= \(bind: since.epochMilliseconds) AND time < \(bind: until.epochMilliseconds)
                GROUP BY time / 86400000, credential_type
                """).all().map { row in
                    (day: Date(epochMilliseconds: try row.int64("day") * 86_400_000), credentialType: try row.string("credential_type"),
                     count: Int(try row.int64("sign_ins")))
                }
        }
    }
}
