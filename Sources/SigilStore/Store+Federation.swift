import Foundation
import SQLKit
import SigilCore

extension Store {
    // MARK: Federated identity credentials

    public func federatedCredentials(applicationId: String) async throws -> [FederatedIdentityCredential] {
        try await read { database in
            try await database.raw("SELECT * FROM federated_credentials WHERE application_id = \(bind: applicationId) ORDER BY created_at, name")
                .all().map(Self.federatedCredential)
        }
    }

    static func federatedCredential(_ row: any SQLRow) throws -> FederatedIdentityCredential {
        FederatedIdentityCredential(
            id: try row.string("id"), applicationId: try row.string("application_id"), name: try row.string("name"),
            issuer: try row.string("issuer"), subject: try row.optionalString("subject"),
            claimsMatchingExpression: try row.optionalString("claims_expression"), audiences: [try row.string("audience")],
            description: try row.string("description"), createdAt: try row.date("created_at"), disabledAt: try row.optionalDate("disabled_at"))
    }

    /// Adds a federated credential after checking it against the app's others inside the write
    /// transaction, so two concurrent adds cannot pass the limit or the uniqueness rules together.
    public func addFederatedCredential(_ credential: FederatedIdentityCredential, audit: AuditEvent) async throws {
        try await transaction { database in
            if dialect == .postgres {
                try await database.raw("SELECT object_id FROM applications WHERE object_id = \(bind: credential.applicationId) FOR UPDATE").run()
            }
            let existing = try await database.raw("SELECT * FROM federated_credentials WHERE application_id = \(bind: credential.applicationId)")
                .all().map(Self.federatedCredential)
            try FederationRules.checkAgainst(existing, adding: credential)
            do {
                try await database.raw("""
                    INSERT INTO federated_credentials (id, application_id, name, issuer, subject, claims_expression, audience, description, created_at)
                    VALUES (\(bind: credential.id), \(bind: credential.applicationId), \(bind: credential.name), \(bind: credential.issuer),
                        \(bind: credential.subject), \(bind: credential.claimsMatchingExpression), \(bind: credential.audiences[0]),
                        \(bind: credential.description), \(bind: credential.createdAt.epochMilliseconds))
                    """).run()
            } catch where Self.isUniqueViolation(error) {
                throw StoreError.conflict("the application already has a federated credential with this name, or with this issuer and subject")
            }
            try await Self.insertAudit(audit, on: database)
        }
    }

    /// Removes the credential named `reference` (its name or id); `notFound` when there is none.
    public func removeFederatedCredential(applicationId: String, reference: String, audit: (FederatedIdentityCredential) -> AuditEvent) async throws {
        try await transaction { database in
            let removed = try await database.raw("""
                DELETE FROM federated_credentials WHERE application_id = \(bind: applicationId) AND (id = \(bind: reference) OR name = \(bind: reference))
                RETURNING *
                """).all().map(Self.federatedCredential)
            guard let credential = removed.first else {
                throw StoreError.notFound("the application has no federated credential named '\(reference)'")
            }
            try await Self.insertAudit(audit(credential), on: database)
        }
    }

    // MARK: Trusted issuers

    public func trustedIssuers(tenantId: String) async throws -> [TrustedIssuer] {
        try await read { database in
            try await database.raw("SELECT * FROM trusted_issuers WHERE tenant_id = \(bind: tenantId) ORDER BY issuer").all().map { row in
                TrustedIssuer(issuer: try row.string("issuer"), caPEM: try row.optionalString("ca_pem"), createdAt: try row.date("created_at"))
            }
        }
    }

    /// Trusts an issuer, replacing the CA of one already trusted.
    public func trustIssuer(_ trusted: TrustedIssuer, tenantId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            try await database.raw("DELETE FROM trusted_issuers WHERE tenant_id = \(bind: tenantId) AND issuer = \(bind: trusted.issuer)").run()
            try await database.raw("""
                INSERT INTO trusted_issuers (tenant_id, issuer, ca_pem, created_at)
                VALUES (\(bind: tenantId), \(bind: trusted.issuer), \(bind: trusted.caPEM), \(bind: trusted.createdAt.epochMilliseconds))
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }

    public func untrustIssuer(_ issuer: String, tenantId: String, audit: AuditEvent) async throws {
        try await transaction { database in
            let removed = try await database.raw("""
                DELETE FROM trusted_issuers WHERE tenant_id = \(bind: tenantId) AND issuer = \(bind: issuer) RETURNING issuer
                """).all()
            guard !removed.isEmpty else { throw StoreError.notFound("the issuer '\(issuer)' is not trusted") }
            try await Self.insertAudit(audit, on: database)
        }
    }
}
