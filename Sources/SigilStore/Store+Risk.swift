import Foundation
import SQLKit
import SigilCore

/// A password credential with the application that holds it, for matching leak reports across a tenant.
public struct OwnedPasswordCredential: Sendable {
    public var credential: PasswordCredential
    public var applicationObjectId: String
    public var appId: String
    public var servicePrincipalId: String
    public var appDisplayName: String
}

/// One credential a leak report revokes, with what is written beside it in the same transaction.
public struct LeakRevocation: Sendable {
    public var keyId: String
    public var revokedAt: Date
    public var reason: String
    public var detection: RiskDetection
    public var audit: AuditEvent

    public init(keyId: String, revokedAt: Date, reason: String, detection: RiskDetection, audit: AuditEvent) {
        self.keyId = keyId
        self.revokedAt = revokedAt
        self.reason = reason
        self.detection = detection
        self.audit = audit
    }
}

extension Store {
    // MARK: Leak reports

    /// Every password credential of the tenant, revoked ones included, with its application.
    public func passwordCredentials(tenantId: String) async throws -> [OwnedPasswordCredential] {
        try await read { database in
            try await database.raw("""
                SELECT p.*, a.app_id AS owner_app_id, a.service_principal_id AS owner_sp_id, a.display_name AS owner_name
                FROM password_credentials p JOIN applications a ON a.object_id = p.application_id
                WHERE a.tenant_id = \(bind: tenantId)
                """).all().map { row in
                    OwnedPasswordCredential(
                        credential: try Self.passwordCredential(row), applicationObjectId: try row.string("application_id"),
                        appId: try row.string("owner_app_id"), servicePrincipalId: try row.string("owner_sp_id"),
                        appDisplayName: try row.string("owner_name"))
                }
        }
    }

    /// Revokes the credentials in one transaction that changes the directory (so every replica's
    /// token cache drops them at once). A credential revoked meanwhile is left alone and gets no
    /// second detection or audit event. Returns what happened to each keyId.
    public func revokeLeakedCredentials(_ revocations: [LeakRevocation]) async throws -> [String: LeakReport.Status] {
        guard !revocations.isEmpty else { return [:] }
        return try await transaction { database in
            var outcome: [String: LeakReport.Status] = [:]
            for revocation in revocations {
                let revoked = try await database.raw("""
                    UPDATE password_credentials SET revoked_at = \(bind: revocation.revokedAt.epochMilliseconds), revoked_reason = \(bind: revocation.reason)
                    WHERE key_id = \(bind: revocation.keyId) AND revoked_at IS NULL RETURNING key_id
                    """).all()
                if revoked.isEmpty {
                    let exists = try await database.raw("SELECT key_id FROM password_credentials WHERE key_id = \(bind: revocation.keyId)").first()
                    outcome[revocation.keyId] = exists == nil ? .notFound : .alreadyRevoked
                    continue
                }
                try await Self.insertRiskDetection(revocation.detection, on: database)
                try await Self.insertAudit(revocation.audit, on: database)
                outcome[revocation.keyId] = .revoked
            }
            return outcome
        }
    }

    // MARK: Risk detections

    /// Stores a detection with the alert it causes (`riskDetection`, or `leakReport` for a leak report's).
    static func insertRiskDetection(_ detection: RiskDetection, on database: any SQLDatabase) async throws {
        try await database.raw("""
            INSERT INTO risk_detections (id, tenant_id, service_principal_id, app_id, risk_event_type, risk_level, risk_state,
                detected_at, updated_at, key_id, source, correlation_id, ip_address, evidence)
            VALUES (\(bind: detection.id), \(bind: detection.tenantId), \(bind: detection.servicePrincipalId), \(bind: detection.appId),
                \(bind: detection.riskEventType), \(bind: detection.riskLevel.rawValue), \(bind: detection.riskState.rawValue),
                \(bind: detection.detectedAt.epochMilliseconds), \(bind: detection.updatedAt.epochMilliseconds), \(bind: detection.keyId),
                \(bind: detection.source), \(bind: detection.correlationId), \(bind: detection.ipAddress),
                \(bind: detection.evidence.isEmpty ? nil : Self.evidenceJSON(detection.evidence)))
            """).run()
        try await enqueueRiskAlert(detection, on: database)
    }

    /// Detections of a tenant, newest first; `appId` keeps one application's.
    public func riskDetections(tenantId: String, appId: String? = nil, limit: Int = 1000) async throws -> [RiskDetection] {
        try await read { database in
            let filter: SQLQueryString = appId.map { "AND d.app_id = \(bind: $0)" } ?? ""
            return try await database.raw("""
                SELECT d.*, a.display_name AS sp_name FROM risk_detections d LEFT JOIN applications a ON a.service_principal_id = d.service_principal_id
                WHERE d.tenant_id = \(bind: tenantId) \(filter) ORDER BY d.detected_at DESC, d.id LIMIT \(bind: limit)
                """).all().map(Self.riskDetection)
        }
    }

    public func riskDetection(tenantId: String, id: String) async throws -> RiskDetection? {
        try await read { database in
            try await database.raw("""
                SELECT d.*, a.display_name AS sp_name FROM risk_detections d LEFT JOIN applications a ON a.service_principal_id = d.service_principal_id
                WHERE d.tenant_id = \(bind: tenantId) AND d.id = \(bind: id)
                """).first().map(Self.riskDetection)
        }
    }

    static func riskDetection(_ row: any SQLRow) throws -> RiskDetection {
        RiskDetection(
            id: try row.string("id"), tenantId: try row.string("tenant_id"), servicePrincipalId: try row.string("service_principal_id"),
            appId: try row.string("app_id"), riskEventType: try row.string("risk_event_type"),
            riskLevel: RiskLevel(rawValue: try row.string("risk_level")) ?? .high, riskState: RiskState(rawValue: try row.string("risk_state")) ?? .atRisk,
            detectedAt: try row.date("detected_at"), updatedAt: try row.date("updated_at"), keyId: try row.optionalString("key_id"),
            source: try row.string("source"), correlationId: try row.string("correlation_id"),
            servicePrincipalDisplayName: try row.optionalString("sp_name"), ipAddress: try row.optionalString("ip_address"),
            evidence: try row.optionalString("evidence").map(Self.evidence) ?? [])
    }

    /// Evidence as Graph writes `additionalInfo`: `[{"Key": …, "Value": …}]`.
    static func evidenceJSON(_ evidence: [RiskEvidence]) -> String {
        JSONValue.array(evidence.map { ["Key": .string($0.key), "Value": .string($0.value)] }).serialized()
    }

    static func evidence(_ text: String) throws -> [RiskEvidence] {
        guard case .array(let entries) = try JSONParser.parse(Array(text.utf8)) else { return [] }
        return entries.compactMap { entry in
            guard let key = entry.objectValue?["Key"]?.stringValue, let value = entry.objectValue?["Value"]?.stringValue else { return nil }
            return RiskEvidence(key: key, value: value)
        }
    }

    /// Records a detection an administrator or a rule raised, with its audit event when there is
    /// one. The directory generation moves, so Conditional Access sees the new risk at once.
    public func recordRiskDetection(_ detection: RiskDetection, audit: AuditEvent?) async throws {
        try await transaction { database in
            try await Self.insertRiskDetection(detection, on: database)
            if let audit { try await Self.insertAudit(audit, on: database) }
        }
    }

    // MARK: Sign-in history

    /// What has been learned of a service principal's successful sign-ins.
    public func signInHistory(servicePrincipalId: String) async throws -> SignInHistory {
        try await read { database in
            var history = SignInHistory()
            for row in try await database.raw("SELECT * FROM sign_in_facts WHERE service_principal_id = \(bind: servicePrincipalId)").all() {
                guard let kind = SignInFact.Kind(rawValue: try row.string("kind")) else { continue }
                if kind == .firstSignIn { history.firstSignIn = try row.date("first_seen") } else { history.facts.insert(SignInFact(kind, try row.string("value"))) }
            }
            return history
        }
    }

    /// Learns `facts` (those known already are left alone) and records `detection` only if this
    /// call learned every fact of its `trigger`: two replicas seeing the same new network raise
    /// one detection. Returns whether the detection was recorded.
    @discardableResult
    public func learn(
        _ facts: [SignInFact], servicePrincipalId: String, at time: Date, detection: RiskDetection?, trigger: [SignInFact]
    ) async throws -> Bool {
        try await transaction(changesDirectory: detection != nil) { database in
            var learned = Set<SignInFact>()
            for fact in facts {
                let inserted = try await database.raw("""
                    INSERT INTO sign_in_facts (service_principal_id, kind, value, first_seen)
                    VALUES (\(bind: servicePrincipalId), \(bind: fact.kind.rawValue), \(bind: fact.value), \(bind: time.epochMilliseconds))
                    ON CONFLICT DO NOTHING RETURNING kind
                    """).all()
                if !inserted.isEmpty { learned.insert(fact) }
            }
            guard let detection, !trigger.isEmpty, trigger.allSatisfy(learned.contains) else { return false }
            try await Self.insertRiskDetection(detection, on: database)
            return true
        }
    }

    /// Moves an active detection to `state` with its audit event; `false` (and nothing written)
    /// when it was no longer active. Risk will feed Conditional Access on the token path, so the
    /// change bumps the directory generation like any other.
    public func setRiskState(_ state: RiskState, tenantId: String, detectionId: String, at time: Date, audit: AuditEvent) async throws -> Bool {
        try await transaction { database in
            let changed = try await database.raw("""
                UPDATE risk_detections SET risk_state = \(bind: state.rawValue), updated_at = \(bind: time.epochMilliseconds)
                WHERE tenant_id = \(bind: tenantId) AND id = \(bind: detectionId)
                    AND risk_state IN (\(bind: RiskState.atRisk.rawValue), \(bind: RiskState.confirmedCompromised.rawValue))
                RETURNING id
                """).all()
            guard !changed.isEmpty else { return false }
            try await Self.insertAudit(audit, on: database)
            return true
        }
    }

    /// The risk of each service principal of the tenant that has any detection.
    public func servicePrincipalRisks(tenantId: String, servicePrincipalId: String? = nil) async throws -> [String: ServicePrincipalRisk] {
        try await read { database in
            let filter: SQLQueryString = servicePrincipalId.map { "AND service_principal_id = \(bind: $0)" } ?? ""
            let rows = try await database.raw("""
                SELECT service_principal_id, risk_level, risk_state FROM risk_detections WHERE tenant_id = \(bind: tenantId) \(filter)
                GROUP BY service_principal_id, risk_level, risk_state
                """).all()
            var detections: [String: [(level: RiskLevel, state: RiskState)]] = [:]
            for row in rows {
                let level = RiskLevel(rawValue: try row.string("risk_level")) ?? .high
                let state = RiskState(rawValue: try row.string("risk_state")) ?? .atRisk
                detections[try row.string("service_principal_id"), default: []].append((level, state))
            }
            return detections.mapValues { ServicePrincipalRisk(detections: $0) }
        }
    }
}
