import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Leak reports, risk detections and secret-scan bypasses (DESIGN §5, §7). The scanner reports
/// only `SHA-256(secret)`; a match is revoked, detected and audited in one transaction.
extension AdminAPI {
    /// Detections, risky service principals, and what an administrator decides about them.
    var riskRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "riskDetections", .riskRead, handler: listRiskDetections),
            AdminRoute(.get, "riskDetections/{id}", .riskRead) { _, context, caller in
                .json(AdminJSON.riskDetection(try await riskDetection(context, caller)))
            },
            AdminRoute(.post, "riskDetections/{id}/dismiss", .riskManage, handler: dismissRiskDetection),
            AdminRoute(.get, "riskyServicePrincipals", .riskRead) { _, _, caller in
                let risks = try await store.servicePrincipalRisks(tenantId: caller.tenant.id)
                let principals = try await store.applications(tenantId: caller.tenant.id, kinds: Set(PrincipalKind.allCases))
                    .filter { risks[$0.servicePrincipalId].map { $0 != .clean } ?? false }
                return .json(["value": .array(principals.map { AdminJSON.riskyServicePrincipal($0, risk: risks[$0.servicePrincipalId]!) })])
            },
            AdminRoute(.post, "riskyServicePrincipals/{app}/confirmCompromised", .riskManage, scope: .application("app"), handler: confirmCompromised),
        ]
    }

    func riskDetection(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> RiskDetection {
        let id = try Self.pathParameter(context, "id")
        guard let detection = try await store.riskDetection(tenantId: caller.tenant.id, id: id) else {
            throw AdminError.notFound("No risk detection '\(OAuthError.quoted(id))' in this tenant; `sigil risk list` shows them.")
        }
        return detection
    }

    /// Records that an administrator knows the principal is compromised: an
    /// `adminConfirmedCompromised` detection at level high, which Conditional Access sees at once.
    func confirmCompromised(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let app = try await application(context, caller)
        let now = Date()
        let detection = RiskDetection(
            id: Self.newId(), tenantId: caller.tenant.id, servicePrincipalId: app.servicePrincipalId, appId: app.appId,
            riskEventType: RiskDetection.adminConfirmedCompromised, riskLevel: .high, riskState: .confirmedCompromised, detectedAt: now,
            updatedAt: now, keyId: nil, source: "administrator", correlationId: caller.correlationId, servicePrincipalDisplayName: app.displayName,
            evidence: [RiskEvidence(key: "confirmedBy", value: caller.app.displayName)])
        let json = AdminJSON.riskDetection(detection)
        try await store.recordRiskDetection(detection, audit: caller.audit(
            "servicePrincipal.confirmCompromised", targetType: "servicePrincipal", targetId: app.servicePrincipalId, after: json))
        return .json(json, status: .created)
    }

    /// 1,000 hashes of 67 JSON bytes each do not fit the usual 64 KiB.
    static let leakReportBodyLimit = 128 * 1024
    /// 1,000 findings at their longest.
    static let scanBypassBodyLimit = 1 << 20

    func reportLeaks(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["sha256", "source"], limit: Self.leakReportBodyLimit)
        guard let texts = try body.stringArray("sha256", maximum: LeakReport.maximumHashes) else {
            throw AdminError.badRequest("'sha256' is required: the SHA-256 (lowercase hex) of each secret found.", target: "sha256")
        }
        guard !texts.isEmpty else {
            throw AdminError.badRequest("'sha256' is empty; give at least one SHA-256 to check.", target: "sha256")
        }
        // Answered once per distinct hash, in the order first given.
        var reported: [(text: String, digest: Data)] = []
        var seen = Set<String>()
        for (index, text) in texts.enumerated() {
            let digest = try LeakReport.parseSHA256(text, index: index)
            if seen.insert(text).inserted { reported.append((text, digest)) }
        }
        let source = try body.requiredString("source")
        try LeakReport.checkSource(source)

        // Salts differ per credential, so each reported hash is checked against every one.
        let owned = try await store.passwordCredentials(tenantId: caller.tenant.id)
        let hashes = owned.map(\.credential.hash)
        var matches: [Int?] = []
        for entry in reported {
            matches.append(LeakReport.match(entry.digest, in: hashes))
            await Task.yield()  // a large tenant takes a while: let token requests run in between
        }

        let now = Date()
        let reason = "Reported leaked (source: \(source))."
        var revocations: [LeakRevocation] = []
        for index in Set(matches.compactMap { $0 }).sorted() where owned[index].credential.revokedAt == nil {
            let owner = owned[index]
            let detection = RiskDetection(
                id: Self.newId(), tenantId: caller.tenant.id, servicePrincipalId: owner.servicePrincipalId, appId: owner.appId,
                riskEventType: RiskDetection.leakedCredentials, riskLevel: .high, riskState: .atRisk, detectedAt: now, updatedAt: now,
                keyId: owner.credential.keyId, source: source, correlationId: caller.correlationId)
            var revoked = owner.credential
            revoked.revokedAt = now
            revoked.revokedReason = reason
            var after = AdminJSON.passwordCredential(revoked).objectValue ?? [:]
            after["riskDetectionId"] = .string(detection.id)
            revocations.append(LeakRevocation(
                keyId: owner.credential.keyId, revokedAt: now, reason: reason, detection: detection,
                audit: caller.audit(
                    "application.passwordCredential.revoke", targetType: "application", targetId: owner.applicationObjectId,
                    before: AdminJSON.passwordCredential(owner.credential), after: .object(after))))
        }
        let outcome = try await store.revokeLeakedCredentials(revocations)
        if !outcome.isEmpty {
            logger.notice("leak report revoked password credentials", metadata: [
                "keyIds": .string(outcome.filter { $0.value == .revoked }.keys.sorted().joined(separator: ",")),
                "correlationId": .string(caller.correlationId),
            ])
        }

        let results: [JSONValue] = zip(reported, matches).map { entry, match in
            var result: [String: JSONValue] = ["sha256": .string(entry.text)]
            guard let match else {
                result["status"] = .string(LeakReport.Status.notFound.rawValue)
                return .object(result)
            }
            let owner = owned[match]
            let status = owner.credential.revokedAt != nil ? .alreadyRevoked : (outcome[owner.credential.keyId] ?? .alreadyRevoked)
            result["status"] = .string(status.rawValue)
            if status != .notFound {
                result["appId"] = .string(owner.appId)
                result["keyId"] = .string(owner.credential.keyId)
                result["displayName"] = .string(owner.appDisplayName)
            }
            return .object(result)
        }
        return .json(["value": .array(results)])
    }

    func listRiskDetections(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let parameters = request.uri.queryParameters
        for (name, _) in parameters where name != "appId" {
            throw AdminError.badRequest("Unknown query parameter '\(name)'. Allowed: appId.", target: String(name))
        }
        let appId = parameters["appId"].map(String.init)
        if let appId, appId.count > 256 || appId.containsControlCharacters {
            throw AdminError.badRequest("appId must be at most 256 characters without control characters.", target: "appId")
        }
        let detections = try await store.riskDetections(tenantId: caller.tenant.id, appId: appId)
        return .json(["value": .array(detections.map(AdminJSON.riskDetection))])
    }

    /// Dismisses an active detection (audited); one already dismissed is returned as it is.
    /// Only this detection changes: one raised meanwhile for the same principal stays at risk.
    func dismissRiskDetection(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let detection = try await riskDetection(context, caller)
        let id = detection.id
        guard detection.riskState.isActive else { return .json(AdminJSON.riskDetection(detection)) }
        var dismissed = detection
        dismissed.riskState = .dismissed
        dismissed.updatedAt = Date()
        _ = try await store.setRiskState(
            .dismissed, tenantId: caller.tenant.id, detectionId: id, at: dismissed.updatedAt,
            audit: caller.audit(
                "riskDetection.dismiss", targetType: "riskDetection", targetId: id,
                before: AdminJSON.riskDetection(detection), after: AdminJSON.riskDetection(dismissed)))
        let current = try await store.riskDetection(tenantId: caller.tenant.id, id: id) ?? dismissed
        return .json(AdminJSON.riskDetection(current))
    }

    /// Someone pushed past a scan block: one audit event with the reason and the findings.
    func recordScanBypass(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["reason", "repository", "ref", "author", "findings"], limit: Self.scanBypassBodyLimit)
        let bypass = ScanBypass(
            reason: try body.requiredString("reason"), repository: try body.requiredString("repository"), ref: try body.string("ref"),
            author: try body.string("author"), findings: try Self.findings(body))
        try bypass.check()
        let findings: [JSONValue] = bypass.findings.map { finding in
            var object: [String: JSONValue] = [
                "rule": .string(finding.rule), "file": .string(finding.file), "line": .integer(Int64(finding.line)),
                "fingerprint": .string(finding.fingerprint),
            ]
            if let commit = finding.commit { object["commit"] = .string(commit) }
            return .object(object)
        }
        let event = caller.audit(
            "secretScan.bypass", targetType: "repository", targetId: bypass.repository,
            after: [
                "reason": .string(bypass.reason), "repository": .string(bypass.repository), "ref": .optional(bypass.ref),
                "author": .optional(bypass.author), "findings": .array(findings),
            ])
        try await store.recordAudit(event)
        return .json(["id": .string(event.id)], status: .created)
    }

    static func findings(_ body: JSONBody) throws -> [ScanBypass.Finding] {
        guard let value = body.members["findings"], value != .null else {
            throw AdminError.badRequest("'findings' is required: the findings the push goes past.", target: "findings")
        }
        guard let array = value.arrayValue else {
            throw AdminError.badRequest("'findings' must be an array of objects, not \(value.typeName).", target: "findings")
        }
        let allowed: Set<String> = ["rule", "file", "line", "fingerprint", "commit"]
        return try array.enumerated().map { index, entry in
            let name = "findings[\(index)]"
            guard let object = entry.objectValue else {
                throw AdminError.badRequest("\(name) must be an object with rule, file, line and fingerprint.", target: "findings")
            }
            if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw AdminError.badRequest(
                    "\(name) has an unknown field '\(OAuthError.quoted(unknown))'. Allowed: \(allowed.sorted().joined(separator: ", ")).", target: "findings")
            }
            func text(_ field: String) throws -> String {
                guard let value = object[field]?.stringValue else {
                    throw AdminError.badRequest("\(name).\(field) is required and must be a string.", target: "findings")
                }
                return value
            }
            guard let line = object["line"]?.integerValue, line >= 1, line <= Int64(Int32.max) else {
                throw AdminError.badRequest("\(name).line must be a whole number from 1.", target: "findings")
            }
            let commit: String?
            switch object["commit"] {
            case nil, .null?: commit = nil
            case .string(let value)?: commit = value
            default: throw AdminError.badRequest("\(name).commit must be a string.", target: "findings")
            }
            return ScanBypass.Finding(rule: try text("rule"), file: try text("file"), line: Int(line), fingerprint: try text("fingerprint"), commit: commit)
        }
    }
}
