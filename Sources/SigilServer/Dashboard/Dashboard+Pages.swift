import Foundation
import Hummingbird
import NIOCore
import SigilCore
import SigilStore

/// The dashboard's pages: each reads the store as the matching admin API route does and hands
/// its template plain values (names and metadata; never a secret's value or hint).
extension Dashboard {
    /// Rows per page of the sign-in and audit logs.
    static let pageSize = 50
    /// Days in the overview's sign-in chart.
    static let chartDays = 14
    /// Credentials expiring within this are listed on the overview.
    static let expiryWindow: TimeInterval = 30 * 86_400

    // MARK: Overview

    func overview(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        let grants = session.caller.grants
        let tenantId = session.caller.tenant.id
        var values: [String: Any] = [:]
        if grants.allowsTenantWide(.reportsRead) {
            values["secretlessChart"] = try await secretlessChart(tenantId: tenantId, endingOn: Date())
            // Shown, not recorded: the day's score is what `sigil assess` last recorded.
            let assessment = PostureAssessment(try await store.postureFacts(tenantId: tenantId, now: Date()))
            values["assessment"] = [
                "score": assessment.score,
                "items": assessment.items.map { item -> [String: Any] in
                    ["title": item.title, "met": item.passed ? "yes" : String(format: "%.0f %%", item.score * 100), "evidence": item.evidence,
                     "fix": item.fix.isEmpty ? false : item.fix]
                },
            ] as [String: Any]
        }
        if grants.allowsTenantWide(.logsRead) {
            values["signInChart"] = try await signInChart(tenantId: tenantId, endingOn: Date())
        }
        if grants.allowsTenantWide(.riskRead) {
            let risks = try await store.servicePrincipalRisks(tenantId: tenantId)
            let principals = try await store.applications(tenantId: tenantId, kinds: Set(PrincipalKind.allCases))
                .filter { risks[$0.servicePrincipalId].map { $0 != .clean } ?? false }
            values["riskyShown"] = true
            values["risky"] = principals.map { app -> [String: Any] in
                let risk = risks[app.servicePrincipalId]!
                return ["name": app.displayName, "appId": app.appId, "level": risk.level.rawValue, "state": risk.state.rawValue]
            }
        }
        if grants.allowsTenantWide(.applicationsRead) {
            values["expiringShown"] = true
            values["expiring"] = try await expiringCredentials(tenantId: tenantId, now: Date())
        }
        return Page(template: "overview", title: "Overview", values: values)
    }

    /// The UTC days of the overview's charts, oldest first, ending today.
    static func chartDates(endingOn now: Date) -> [Date] {
        let today = utcCalendar.startOfDay(for: now)
        return (0..<chartDays).reversed().map { utcCalendar.date(byAdding: .day, value: -$0, to: today)! }
    }

    /// The secretless share over the last `chartDays` days, from the usage summaries `sigil report
    /// secretless` reads: each day's sign-ins with no secret and with one, stacked.
    func secretlessChart(tenantId: String, endingOn now: Date) async throws -> [String: Any] {
        let days = Self.chartDates(endingOn: now)
        let end = days[days.count - 1].addingTimeInterval(86_400)
        let share = try await store.secretlessShare(tenantId: tenantId, from: days[0], to: end)
        let figures = days.map { day in share.days.first { $0.day == day }?.figures }
        let categories = days.map(Self.dayLabel)
        let chart = StackedBarChart(categories: categories, series: [
            .init(name: "secretless", values: figures.map { $0?.secretlessSignIns ?? 0 }),
            .init(name: "secret", values: figures.map { ($0?.signIns ?? 0) - ($0?.secretlessSignIns ?? 0) }),
        ])
        var values = DashboardTemplates.chart(
            chart, id: "secretless-share", title: "Secretless share over time",
            description: "Successful sign-ins per day (UTC) for the last \(Self.chartDays) days: without a secret, and with a client secret.",
            categories: categories)
        values["signInShare"] = share.window.signInShare.map { String(format: "%.1f %%", $0 * 100) } ?? "no sign-ins"
        values["appShare"] = "\(share.window.secretlessApps) of \(share.window.apps)"
        return values
    }

    /// Successful sign-ins per UTC day and credential type over the last `chartDays` days.
    func signInChart(tenantId: String, endingOn now: Date) async throws -> [String: Any] {
        let days = Self.chartDates(endingOn: now)
        let counts = try await store.signInCountsByCredentialType(tenantId: tenantId, since: days[0], until: days[days.count - 1].addingTimeInterval(86_400))
        let types = CredentialType.allCases.map(\.rawValue).filter { type in counts.contains { $0.credentialType == type } }
        let series = types.map { type in
            StackedBarChart.Series(name: type, values: days.map { day in
                counts.first { $0.credentialType == type && $0.day == day }?.count ?? 0
            })
        }
        let categories = days.map(Self.dayLabel)
        let chart = StackedBarChart(categories: categories, series: series)
        return DashboardTemplates.chart(
            chart, id: "signins-by-type", title: "Sign-ins by credential type",
            description: "Successful sign-ins per day (UTC) for the last \(Self.chartDays) days, stacked by credential type.",
            categories: categories)
    }

    /// Password and key credentials that are not revoked and end within `expiryWindow`, soonest first.
    func expiringCredentials(tenantId: String, now: Date) async throws -> [[String: Any]] {
        let horizon = now.addingTimeInterval(Self.expiryWindow)
        let apps = Dictionary(try await store.applications(tenantId: tenantId).map { ($0.objectId, $0) }, uniquingKeysWith: { first, _ in first })
        var rows: [(end: Date, row: [String: Any])] = []
        for owned in try await store.passwordCredentials(tenantId: tenantId)
        where owned.credential.revokedAt == nil && owned.credential.endDateTime <= horizon {
            rows.append((owned.credential.endDateTime, [
                "app": owned.appDisplayName, "appId": owned.appId, "name": owned.credential.displayName, "type": "Client secret",
                "expires": Self.time(owned.credential.endDateTime), "expired": owned.credential.endDateTime <= now,
            ]))
        }
        for key in try await store.keyCredentials(tenantId: tenantId) {
            guard let end = key.endDateTime, end <= horizon, let app = apps[key.applicationId] else { continue }
            rows.append((end, [
                "app": app.displayName, "appId": app.appId, "name": key.displayName, "type": Self.keyType(key), "expires": Self.time(end),
                "expired": end <= now,
            ]))
        }
        return rows.sorted { $0.end < $1.end }.map(\.row)
    }

    // MARK: Apps

    func apps(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        let tenantId = session.caller.tenant.id
        let risks = try await store.servicePrincipalRisks(tenantId: tenantId)
        let apps = try await store.applications(tenantId: tenantId)
        // Stages as `sigil report stages` gives them over its default window, for a caller who may read reports.
        var stages: [String: MigrationStage]?
        if session.caller.grants.allowsTenantWide(.reportsRead) {
            let range = AdminAPI.ReportWindows().range(now: Date())
            stages = Dictionary(
                try await store.applicationStages(tenantId: tenantId, from: range.from, to: range.to, now: Date()).map { ($0.appId, $0.counts.stage) },
                uniquingKeysWith: { first, _ in first })
        }
        return Page(template: "apps", title: "Apps", values: [
            "stagesShown": stages != nil,
            "apps": apps.map { app -> [String: Any] in
                [
                    "name": app.displayName, "appId": app.appId, "enabled": app.enabled, "created": Self.time(app.createdAt),
                    "risk": (risks[app.servicePrincipalId] ?? .clean).level.rawValue, "stage": stages?[app.appId]?.rawValue ?? "",
                ]
            },
        ])
    }

    func application(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        let app = try await api.application(context, session.caller)
        var credentials: [[String: Any]] = []
        for password in try await store.passwordCredentials(applicationId: app.objectId) {
            credentials.append([
                "type": "Client secret", "name": password.displayName, "keyId": password.keyId, "created": Self.time(password.startDateTime),
                "expires": Self.time(password.endDateTime), "state": password.revokedAt == nil ? "active" : "revoked",
            ])
        }
        for key in try await store.keyCredentials(applicationId: app.objectId) {
            credentials.append([
                "type": Self.keyType(key), "name": key.displayName, "keyId": key.keyId, "created": Self.time(key.startDateTime),
                "expires": key.endDateTime.map(Self.time) ?? "never", "state": "active",
            ])
        }
        for federated in try await store.federatedCredentials(applicationId: app.objectId) {
            credentials.append([
                "type": "Federated credential", "name": federated.name, "keyId": federated.id, "created": Self.time(federated.createdAt),
                "expires": "never", "state": "active",
            ])
        }
        var values: [String: Any] = ["name": app.displayName, "appId": app.appId, "objectId": app.objectId, "credentials": credentials]
        if let migration = try await store.appMigration(applicationId: app.objectId) {
            let mayChange = session.caller.grants.allows(.migrationsWrite, onApplication: app.objectId)
            values["migration"] = [
                "state": migration.state.rawValue, "applied": Self.time(migration.appliedAt),
                "replacement": migration.replacement.credentialType.rawValue,
                "mayFinish": mayChange && [.applied, .rolledBack].contains(migration.state), "mayRollBack": mayChange && migration.state == .finished,
            ] as [String: Any]
        }
        if session.caller.grants.allowsTenantWide(.logsRead) {
            let recent = try await store.signIns(tenantId: app.tenantId, query: LogQuery(appId: app.appId, limit: 20))
            values["signInsShown"] = true
            values["signIns"] = recent.map(Self.signInRow)
        }
        return Page(template: "app", title: app.displayName, values: values)
    }

    // MARK: Logs

    func signIns(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        let filters = try DashboardFilters(request, allowed: ["app", "result", "type", "window", "page"])
        var query = LogQuery(limit: Self.pageSize + 1)
        query.appId = try filters.text("app")
        switch filters.value("result") {
        case nil: break
        case "success"?: query.succeeded = true
        case "failure"?: query.succeeded = false
        case let other?: throw Refusal(status: .badRequest, message: "result must be success or failure, not '\(OAuthError.quoted(other))'.")
        }
        if let type = filters.value("type") {
            guard let credentialType = CredentialType(rawValue: type) else {
                throw Refusal(status: .badRequest, message: "type must be one of \(CredentialType.allCases.map(\.rawValue).joined(separator: ", ")), not '\(OAuthError.quoted(type))'.")
            }
            query.credentialType = credentialType
        }
        let window = filters.value("window") ?? "7d"
        guard let seconds = Self.windows.first(where: { $0.value == window })?.seconds else {
            throw Refusal(status: .badRequest, message: "window must be one of \(Self.windows.map(\.value).joined(separator: ", ")), not '\(OAuthError.quoted(window))'.")
        }
        query.since = Date().addingTimeInterval(-seconds)
        let page = try filters.page()
        query.offset = (page - 1) * Self.pageSize
        let rows = try await store.signIns(tenantId: session.caller.tenant.id, query: query)
        return Page(template: "signins", title: "Sign-ins", values: [
            "signIns": rows.prefix(Self.pageSize).map(Self.signInRow),
            "app": query.appId ?? "",
            "results": [("", "Any"), ("success", "Success"), ("failure", "Failure")].map { option(value: $0.0, label: $0.1, selected: filters.value("result") ?? "") },
            "types": ([("", "Any")] + CredentialType.allCases.map { ($0.rawValue, $0.rawValue) }).map {
                option(value: $0.0, label: $0.1, selected: filters.value("type") ?? "")
            },
            "windows": Self.windows.map { option(value: $0.value, label: $0.label, selected: window) },
            "paging": filters.paging(page: page, hasNext: rows.count > Self.pageSize),
        ])
    }

    func auditLog(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        let filters = try DashboardFilters(request, allowed: ["actor", "action", "target", "page"])
        var query = LogQuery(limit: Self.pageSize + 1)
        query.actor = try filters.text("actor")
        query.action = try filters.text("action")
        query.appId = try filters.text("target")
        let page = try filters.page()
        query.offset = (page - 1) * Self.pageSize
        let rows = try await store.auditEvents(tenantId: session.caller.tenant.id, query: query)
        return Page(template: "audit", title: "Audit log", values: [
            "events": rows.prefix(Self.pageSize).map { event -> [String: Any] in
                [
                    "time": Self.time(event.time), "actor": event.actorName, "action": event.action, "targetType": event.targetType,
                    "targetId": event.targetId, "result": event.succeeded ? "success" : "failure",
                ]
            },
            "actor": query.actor ?? "", "action": query.action ?? "", "target": query.appId ?? "",
            "paging": filters.paging(page: page, hasNext: rows.count > Self.pageSize),
        ])
    }

    static let windows: [(value: String, label: String, seconds: TimeInterval)] = [
        ("1h", "Last hour", 3600), ("24h", "Last 24 hours", 86_400), ("7d", "Last 7 days", 7 * 86_400), ("30d", "Last 30 days", 30 * 86_400),
    ]

    func option(value: String, label: String, selected: String) -> [String: Any] {
        ["value": value, "label": label, "selected": value == selected]
    }

    static func signInRow(_ event: SignInEvent) -> [String: Any] {
        [
            "time": time(event.time), "app": event.appDisplayName ?? event.appId, "appId": event.appId,
            "type": event.credentialType?.rawValue ?? "—", "result": event.succeeded ? "success" : "failure",
            "error": event.errorCode.map(String.init) ?? "", "ip": event.ipAddress, "resource": event.resource ?? "",
        ]
    }

    // MARK: Risk

    func risk(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        let detections = try await store.riskDetections(tenantId: session.caller.tenant.id)
        let mayDismiss = session.caller.grants.allowsTenantWide(.riskManage)
        return Page(template: "risk", title: "Risk", values: [
            "detections": detections.map { detection -> [String: Any] in
                [
                    "id": detection.id, "detected": Self.time(detection.detectedAt), "app": detection.servicePrincipalDisplayName ?? detection.appId,
                    "type": detection.riskEventType, "level": detection.riskLevel.rawValue, "state": detection.riskState.rawValue,
                    "source": detection.source, "dismissable": mayDismiss && detection.riskState.isActive,
                ]
            }
        ])
    }

    /// The admin API's own dismissal (permission, audit and all), then back to the risk page.
    func dismissRisk(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Response {
        try await api.authorize(.riskManage, scope: .tenant, session.caller, request, context)
        _ = try await api.dismissRiskDetection(request, context, session.caller)
        return Self.secured(Response(status: .seeOther, headers: [.location: "/dashboard/risk"]))
    }

    /// `sigil migrate finish` or `rollback` from an app's page: the admin API's own handler, with
    /// its permission check, defaults (soak, retention) and refusals, then back to the app.
    func migrationStep(_ handler: @escaping AdminAPI.Handler) -> @Sendable (Request, SigilRequestContext, Session) async throws -> Response {
        { request, context, session in
            try await api.authorize(.migrationsWrite, scope: .application("app"), session.caller, request, context)
            // The form was read for its CSRF token; the handler reads an empty JSON body: the defaults.
            var head = request.head
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = "2"
            _ = try await handler(Request(head: head, body: .init(buffer: ByteBuffer(string: "{}"))), context, session.caller)
            let app = try AdminAPI.pathParameter(context, "app")
            return Self.secured(Response(status: .seeOther, headers: [.location: "/dashboard/apps/\(FormParameters.percentEncode(app))"]))
        }
    }

    // MARK: Policies and vaults

    func policies(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        let tenantId = session.caller.tenant.id
        var values: [String: Any] = [
            "conditionalAccess": try await store.conditionalAccessPolicies(tenantId: tenantId).map { policy -> [String: Any] in
                [
                    "name": policy.displayName, "state": policy.state.rawValue, "modified": Self.time(policy.modifiedAt),
                    "includes": policy.includeServicePrincipals.joined(separator: ", "),
                ]
            },
            "appManagement": try await store.appManagementPolicies(tenantId: tenantId).map { policy -> [String: Any] in
                [
                    "name": policy.displayName, "enabled": policy.isEnabled, "default": policy.isTenantDefault, "blocksSecrets": policy.blocksSecrets,
                ]
            },
        ]
        if session.caller.grants.allowsTenantWide(.rolesRead) {
            let roles = Dictionary(try await store.roles(tenantId: tenantId).map { ($0.id, $0.displayName) }, uniquingKeysWith: { first, _ in first })
            let principals = Dictionary(
                try await store.applications(tenantId: tenantId, kinds: Set(PrincipalKind.allCases)).map { ($0.objectId, $0.displayName) },
                uniquingKeysWith: { first, _ in first })
            values["rolesShown"] = true
            values["roleAssignments"] = try await store.roleAssignments(tenantId: tenantId).map { assignment -> [String: Any] in
                [
                    "role": roles[assignment.roleId] ?? assignment.roleId, "principal": principals[assignment.principalObjectId] ?? assignment.principalObjectId,
                    "scope": assignment.scope.directoryScopeId, "created": Self.time(assignment.createdAt),
                ]
            }
        }
        return Page(template: "policies", title: "Policies", values: values)
    }

    /// Vaults and their secrets' names and properties: no value is read, let alone opened.
    func vaults(_ request: Request, _ context: SigilRequestContext, _ session: Session) async throws -> Page {
        var vaults: [[String: Any]] = []
        for vault in try await store.vaults(tenantId: session.caller.tenant.id) {
            let secrets = try await store.secrets(vaultId: vault.id, deleted: false, after: nil, limit: 200)
            vaults.append([
                "name": vault.name, "retentionDays": vault.retentionDays, "created": Self.time(vault.createdAt),
                "secrets": secrets.map { stored -> [String: Any] in
                    let properties = stored.version.properties
                    return [
                        "name": stored.version.secretName, "contentType": properties.contentType ?? "", "enabled": properties.enabled,
                        "expires": properties.expires.map(Self.time) ?? "never", "updated": Self.time(stored.version.updatedAt),
                        "managed": stored.version.managed,
                    ]
                },
            ])
        }
        return Page(template: "vaults", title: "Vaults", values: ["vaults": vaults])
    }

    // MARK: Formatting

    static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// `2026-12-05 06:50 UTC`.
    static func time(_ date: Date) -> String {
        String(date.iso8601.prefix(16)).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    /// `2026-12-05`, a chart's day.
    static func dayLabel(_ date: Date) -> String { String(time(date).prefix(10)) }

    static func keyType(_ key: KeyCredential) -> String { key.kind == .certificate ? "Certificate" : "Public key (JWK)" }
}

/// A page's query parameters: only the allowed ones, an empty field as none.
struct DashboardFilters {
    let values: [String: String]

    init(_ request: Request, allowed: Set<String>) throws {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            guard allowed.contains(String(name)) else {
                throw Dashboard.Refusal(status: .badRequest, message: "Unknown filter '\(OAuthError.quoted(String(name)))'. Allowed: \(allowed.sorted().joined(separator: ", ")).")
            }
            if !value.isEmpty { values[String(name)] = String(value) }
        }
        self.values = values
    }

    func value(_ name: String) -> String? { values[name] }

    /// A free-text filter: at most 256 characters without control characters.
    func text(_ name: String) throws -> String? {
        guard let value = values[name] else { return nil }
        guard value.count <= 256, !value.containsControlCharacters else {
            throw Dashboard.Refusal(status: .badRequest, message: "\(name) must be at most 256 characters without control characters.")
        }
        return value
    }

    /// The page number, from 1 to 1,000.
    func page() throws -> Int {
        guard let text = values["page"] else { return 1 }
        guard let page = Int(text), (1...1000).contains(page) else {
            throw Dashboard.Refusal(status: .badRequest, message: "page must be a number from 1 to 1000.")
        }
        return page
    }

    /// Links to the previous and next pages with the same filters.
    func paging(page: Int, hasNext: Bool) -> [String: Any] {
        func link(_ number: Int) -> String {
            var parameters = values.filter { $0.key != "page" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            parameters.append(("page", String(number)))
            return "?" + FormParameters.encode(parameters)
        }
        var paging: [String: Any] = ["page": page]
        if page > 1 { paging["previous"] = link(page - 1) }
        if hasNext { paging["next"] = link(page + 1) }
        return paging
    }
}
