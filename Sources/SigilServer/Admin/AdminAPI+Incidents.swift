import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Incident response (issue 12, DESIGN §8): contain a service principal, release it, and read
/// its incidents with the timeline of what it did. Containment and release are each one
/// transaction with their audit event (`Store.contain`, `Store.release`).
extension AdminAPI {
    /// How far before a containment a timeline starts when the request gives no `since`.
    static let timelineLookBack: TimeInterval = 7 * 86_400
    /// Sign-ins and audit events a timeline holds (each) when the request gives no `top`.
    static let timelineDefaultLimit = 200

    var incidentRoutes: [AdminRoute] {
        [
            AdminRoute(.post, "servicePrincipals/{sp}/contain", .incidentsWrite, handler: containPrincipal),
            AdminRoute(.post, "servicePrincipals/{sp}/release", .incidentsWrite) { _, context, caller in
                let principal = try await servicePrincipal(context, caller)
                let incident = try await store.release(principal, by: Self.actor(caller), at: Date()) { incident in
                    caller.audit(
                        "servicePrincipal.release", targetType: "servicePrincipal", targetId: principal.servicePrincipalId,
                        after: AdminJSON.incident(incident))
                }
                return .json(AdminJSON.incident(incident))
            },
            AdminRoute(.get, "incidents", .incidentsRead) { request, _, caller in
                for (name, _) in request.uri.queryParameters {
                    throw AdminError.badRequest("Unknown query parameter '\(OAuthError.quoted(String(name)))'; this list takes none.", target: String(name))
                }
                return .json(["value": .array(try await store.incidents(tenantId: caller.tenant.id).map { AdminJSON.incident($0) })])
            },
            AdminRoute(.get, "incidents/{id}", .incidentsRead, handler: showIncident),
        ]
    }

    static func actor(_ caller: AdminCaller) -> Incident.Actor {
        Incident.Actor(id: caller.app.servicePrincipalId, displayName: caller.app.displayName)
    }

    /// The application or managed identity the path names (appId, object id, service principal id or display name).
    func servicePrincipal(_ context: SigilRequestContext, _ caller: AdminCaller, parameter: String = "sp") async throws -> AppRegistration {
        let reference = try Self.pathParameter(context, parameter)
        guard let principal = try await store.application(tenantId: caller.tenant.id, reference: reference, kinds: Set(PrincipalKind.allCases)) else {
            throw AdminError.notFound(
                "No service principal '\(OAuthError.quoted(reference))' in this tenant (looked up by appId, objectId, service principal id and display name); nothing was changed.")
        }
        return principal
    }

    func containPrincipal(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let principal = try await servicePrincipal(context, caller)
        var disabled = principal
        disabled.enabled = false
        try await refuseLockout(principal, after: disabled, caller: caller)
        let grants = try await grants(for: principal)
        let incident = try await store.contain(principal, grants: grants, by: Self.actor(caller), at: Date()) { incident in
            caller.audit("servicePrincipal.contain", targetType: "servicePrincipal", targetId: principal.servicePrincipalId, after: AdminJSON.incident(incident))
        }
        let timeline = try await timeline(of: incident, since: incident.containedAt.addingTimeInterval(-Self.timelineLookBack), until: Date(), limit: Self.timelineDefaultLimit)
        return .json(AdminJSON.incident(incident, timeline: timeline), status: .created, headers: [.location: "/admin/v1/incidents/\(incident.id)"])
    }

    /// An incident by its id, or a service principal's latest one, with the timeline of the
    /// window `since`..`until` (default: a week before the containment until now), each log cut to `top`.
    func showIncident(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        for (name, _) in request.uri.queryParameters where !["since", "until", "top"].contains(String(name)) {
            throw AdminError.badRequest("Unknown query parameter '\(OAuthError.quoted(String(name)))'. Allowed: since, until, top.", target: String(name))
        }
        let reference = try Self.pathParameter(context, "id")
        var incident = try await store.incident(tenantId: caller.tenant.id, id: reference)
        if incident == nil, let principal = try await store.application(tenantId: caller.tenant.id, reference: reference, kinds: Set(PrincipalKind.allCases)) {
            incident = try await store.latestIncident(servicePrincipalId: principal.servicePrincipalId)
            guard incident != nil else {
                throw AdminError.notFound("'\(principal.displayName)' has never been contained; `sigil incident contain` contains it.")
            }
        }
        guard let incident else {
            throw AdminError.notFound("No incident or service principal '\(OAuthError.quoted(reference))' in this tenant; `sigil incident list` shows the incidents.")
        }
        let until = try Self.queryDate(request, "until") ?? Date()
        let since = try Self.queryDate(request, "since") ?? incident.containedAt.addingTimeInterval(-Self.timelineLookBack)
        guard since < until else { throw AdminError.badRequest("since must be before until.", target: "since") }
        let timeline = try await timeline(of: incident, since: since, until: until, limit: try Self.queryTop(request) ?? Self.timelineDefaultLimit)
        return .json(AdminJSON.incident(incident, timeline: timeline))
    }

    func timeline(of incident: Incident, since: Date, until: Date, limit: Int) async throws -> IncidentTimeline {
        let signIns = try await store.signIns(tenantId: incident.tenantId, query: LogQuery(appId: incident.appId, since: since, until: until, limit: limit))
        let targetIds: Set<String> = [incident.applicationId, incident.servicePrincipalId]
        let audits = try await store.auditEvents(
            tenantId: incident.tenantId, targetIds: targetIds, actorId: incident.servicePrincipalId, since: since, until: until, limit: limit)
        return IncidentTimeline(
            servicePrincipalId: incident.servicePrincipalId, targetIds: targetIds, signIns: signIns, audits: audits, since: since, until: until, limit: limit)
    }
}

extension AdminJSON {
    static func incident(_ incident: Incident, timeline: IncidentTimeline? = nil) -> JSONValue {
        var json: [String: JSONValue] = [
            "id": .string(incident.id), "servicePrincipalId": .string(incident.servicePrincipalId), "appId": .string(incident.appId),
            "displayName": .string(incident.displayName), "state": .string(incident.state.rawValue),
            "containedDateTime": .date(incident.containedAt), "containedBy": actor(incident.containedBy),
            "releasedDateTime": .date(incident.releasedAt), "releasedBy": incident.releasedBy.map(actor) ?? .null,
            "accountEnabledBefore": .bool(incident.wasEnabled),
            "disabledCredentials": .array(incident.disabledCredentials.map { ["type": .string($0.kind), "id": .string($0.id)] }),
            "vaultSecrets": .array(incident.secrets.map { ["vault": .string($0.vault), "name": .string($0.name), "rotation": .string($0.rotation.rawValue)] }),
            "tokensRevokedIssuedAtOrBefore": .date(incident.containedAt),
        ]
        if let timeline { json["timeline"] = Self.timeline(timeline) }
        return .object(json)
    }

    static func actor(_ actor: Incident.Actor) -> JSONValue { ["id": .string(actor.id), "displayName": .string(actor.displayName)] }

    static func timeline(_ timeline: IncidentTimeline) -> JSONValue {
        func counts(_ counts: [IncidentTimeline.Count]) -> JSONValue {
            .array(counts.map {
                [
                    "value": .string($0.value), "signIns": .integer(Int64($0.signIns)), "failures": .integer(Int64($0.failures)),
                    "firstDateTime": .date($0.first), "lastDateTime": .date($0.last),
                ]
            })
        }
        return [
            "since": .date(timeline.since), "until": .date(timeline.until), "truncated": .bool(timeline.truncated),
            "resources": counts(timeline.resources), "ipAddresses": counts(timeline.ipAddresses), "userAgents": counts(timeline.userAgents),
            "entries": .array(timeline.entries.map { entry in
                [
                    "dateTime": .date(entry.time), "kind": .string(entry.kind.rawValue), "id": .string(entry.id), "what": .string(entry.what),
                    "actor": .string(entry.actor), "ipAddress": .string(entry.ipAddress), "userAgent": .optional(entry.userAgent),
                    "credentialType": .optional(entry.credentialType), "credentialId": .optional(entry.credentialId),
                    "result": .string(entry.succeeded ? "success" : "failure"), "detail": .optional(entry.detail),
                ]
            }),
        ]
    }
}
