import Foundation
import Hummingbird
import SigilCore
import SigilStore

/// Conditional Access for workload identities under Graph's paths: named locations, policies,
/// what-if (`evaluate`) and impact analysis over recorded sign-ins. Policies and locations are
/// found by id or display name; references inside a policy may name service principals and
/// locations either way and are stored as ids.
extension AdminAPI {
    static let conditionalAccessPath = "identity/conditionalAccess"
    /// Sign-ins listed by an impact analysis by default, and at most.
    static let impactDefaultTop = 100
    static let impactMaximumTop = 1000
    static let impactMaximumDays = 365

    /// Reads need `policies.read`, changes `policies.write`; what-if and impact change nothing.
    var conditionalAccessRoutes: [AdminRoute] {
        [
            AdminRoute(.get, "identity/conditionalAccess/namedLocations", .policiesRead) { _, _, caller in
                .json(["value": .array(try await store.namedLocations(tenantId: caller.tenant.id).map(\.json))])
            },
            AdminRoute(.post, "identity/conditionalAccess/namedLocations", .policiesWrite, handler: createNamedLocation),
            AdminRoute(.get, "identity/conditionalAccess/namedLocations/{id}", .policiesRead) { _, context, caller in .json(try await namedLocation(context, caller).json) },
            AdminRoute(.patch, "identity/conditionalAccess/namedLocations/{id}", .policiesWrite, handler: updateNamedLocation),
            AdminRoute(.delete, "identity/conditionalAccess/namedLocations/{id}", .policiesWrite) { _, context, caller in
                let location = try await namedLocation(context, caller)
                try await store.deleteNamedLocation(id: location.id, tenantId: caller.tenant.id, audit: caller.audit(
                    "namedLocation.delete", targetType: "namedLocation", targetId: location.id, before: location.json))
                return Response(status: .noContent)
            },
            AdminRoute(.get, "identity/conditionalAccess/policies", .policiesRead) { _, _, caller in
                .json(["value": .array(try await store.conditionalAccessPolicies(tenantId: caller.tenant.id).map(\.json))])
            },
            AdminRoute(.post, "identity/conditionalAccess/policies", .policiesWrite, handler: createConditionalAccessPolicy),
            AdminRoute(.get, "identity/conditionalAccess/policies/{id}", .policiesRead) { _, context, caller in .json(try await conditionalAccessPolicy(context, caller).json) },
            AdminRoute(.patch, "identity/conditionalAccess/policies/{id}", .policiesWrite, handler: updateConditionalAccessPolicy),
            AdminRoute(.delete, "identity/conditionalAccess/policies/{id}", .policiesWrite) { _, context, caller in
                let policy = try await conditionalAccessPolicy(context, caller)
                try await store.saveConditionalAccessPolicy(nil, id: policy.id, tenantId: caller.tenant.id, replacing: true, audit: caller.audit(
                    "conditionalAccessPolicy.delete", targetType: "conditionalAccessPolicy", targetId: policy.id, before: policy.json))
                return Response(status: .noContent)
            },
            AdminRoute(.post, "identity/conditionalAccess/evaluate", .policiesRead, handler: whatIf),
            AdminRoute(.post, "identity/conditionalAccess/impact", .policiesRead, handler: impact),
        ]
    }

    // MARK: Named locations

    static let namedLocationMembers: Set<String> = ["@odata.type", "displayName", "isTrusted", "ipRanges", "id", "createdDateTime", "modifiedDateTime"]

    func namedLocation(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> NamedLocation {
        let reference = try Self.pathParameter(context, "id")
        guard let location = try await store.namedLocation(tenantId: caller.tenant.id, reference: reference) else {
            throw AdminError.notFound("No named location '\(OAuthError.quoted(reference))' in this tenant (looked up by id and display name).")
        }
        return location
    }

    /// Applies a location body's members; `@odata.type`, when given, must be Graph's ipNamedLocation.
    static func apply(_ body: JSONBody, to location: inout NamedLocation) throws {
        if let type = try body.string("@odata.type"), type != NamedLocation.odataType {
            throw AdminError.badRequest("@odata.type must be \(NamedLocation.odataType): Sigil's named locations are IP ranges.", target: "@odata.type")
        }
        if let name = try body.string("displayName") {
            try DirectoryRules.checkDisplayName(name)
            location.displayName = name
        }
        if let trusted = try body.bool("isTrusted") { location.isTrusted = trusted }
        if let ranges = body.members["ipRanges"], ranges != .null { location.ranges = try NamedLocation.ranges(ranges) }
    }

    func createNamedLocation(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: Self.namedLocationMembers)
        _ = try body.requiredString("displayName")
        guard body.members["ipRanges"].map({ $0 != .null }) == true else {
            throw AdminError.badRequest("ipRanges is required: [{\"cidrAddress\": \"203.0.113.0/24\"}].", target: "ipRanges")
        }
        let now = Date()
        var location = NamedLocation(id: Self.newId(), displayName: "", isTrusted: false, ranges: [], createdAt: now, modifiedAt: now)
        try Self.apply(body, to: &location)
        try await store.saveNamedLocation(location, tenantId: caller.tenant.id, replacing: false, audit: caller.audit(
            "namedLocation.create", targetType: "namedLocation", targetId: location.id, after: location.json))
        return .json(location.json, status: .created, headers: [.location: "/admin/v1/\(Self.conditionalAccessPath)/namedLocations/\(location.id)"])
    }

    func updateNamedLocation(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let before = try await namedLocation(context, caller)
        let body = try await body(request, allowed: Self.namedLocationMembers)
        var location = before
        try Self.apply(body, to: &location)
        location.modifiedAt = Date()
        let locations = try await store.namedLocations(tenantId: caller.tenant.id).map { $0.id == location.id ? location : $0 }
        try await refuseLockout(policies: try await store.conditionalAccessPolicies(tenantId: caller.tenant.id), locations: locations, caller: caller)
        try await store.saveNamedLocation(location, tenantId: caller.tenant.id, replacing: true, audit: caller.audit(
            "namedLocation.update", targetType: "namedLocation", targetId: location.id, before: before.json, after: location.json))
        return .json(location.json)
    }

    // MARK: Policies

    func conditionalAccessPolicy(_ context: SigilRequestContext, _ caller: AdminCaller) async throws -> ConditionalAccessPolicy {
        let reference = try Self.pathParameter(context, "id")
        guard let policy = try await store.conditionalAccessPolicy(tenantId: caller.tenant.id, reference: reference) else {
            throw AdminError.notFound("No Conditional Access policy '\(OAuthError.quoted(reference))' in this tenant (looked up by id and display name).")
        }
        return policy
    }

    /// Turns the service principal and location references of a policy into ids, refusing any
    /// that names nothing in the tenant, then checks the policy as a whole.
    func resolveReferences(_ policy: inout ConditionalAccessPolicy, _ caller: AdminCaller) async throws {
        func principals(_ references: [String], _ field: String) async throws -> [String] {
            var ids: [String] = []
            for reference in references {
                guard reference != ConditionalAccessPolicy.all else {
                    ids.append(reference)
                    continue
                }
                guard let app = try await store.application(
                    tenantId: caller.tenant.id, reference: reference, kinds: [.application, .userAssignedIdentity, .systemAssignedIdentity])
                else {
                    throw AdminError.badRequest(
                        "\(field) names '\(OAuthError.quoted(reference))', which is no service principal in this tenant; give a servicePrincipalId, appId, objectId or display name.",
                        target: field)
                }
                if !ids.contains(app.servicePrincipalId) { ids.append(app.servicePrincipalId) }
            }
            return ids
        }
        func locations(_ references: [String], _ field: String) async throws -> [String] {
            var ids: [String] = []
            for reference in references {
                guard reference != ConditionalAccessPolicy.all, reference != ConditionalAccessPolicy.allTrusted else {
                    ids.append(reference)
                    continue
                }
                guard let location = try await store.namedLocation(tenantId: caller.tenant.id, reference: reference) else {
                    throw AdminError.badRequest(
                        "\(field) names '\(OAuthError.quoted(reference))', which is no named location in this tenant; create it with `sigil policy ca location create` or give an existing id or name.",
                        target: field)
                }
                if !ids.contains(location.id) { ids.append(location.id) }
            }
            return ids
        }
        policy.includeServicePrincipals = try await principals(policy.includeServicePrincipals, "conditions.clientApplications.includeServicePrincipals")
        policy.excludeServicePrincipals = try await principals(policy.excludeServicePrincipals, "conditions.clientApplications.excludeServicePrincipals")
        if var condition = policy.locations {
            condition.include = try await locations(condition.include, "conditions.locations.includeLocations")
            condition.exclude = try await locations(condition.exclude, "conditions.locations.excludeLocations")
            policy.locations = condition
        }
        try policy.check()
    }

    func createConditionalAccessPolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ConditionalAccessPolicy.members)
        var policy = try ConditionalAccessPolicy.parse(body.members, id: Self.newId(), now: Date())
        try await resolveReferences(&policy, caller)
        try await refuseLockout(policies: [policy], locations: try await store.namedLocations(tenantId: caller.tenant.id), caller: caller)
        try await store.saveConditionalAccessPolicy(policy, id: policy.id, tenantId: caller.tenant.id, replacing: false, audit: caller.audit(
            "conditionalAccessPolicy.create", targetType: "conditionalAccessPolicy", targetId: policy.id, after: policy.json))
        return .json(policy.json, status: .created, headers: [.location: "/admin/v1/\(Self.conditionalAccessPath)/policies/\(policy.id)"])
    }

    func updateConditionalAccessPolicy(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let before = try await conditionalAccessPolicy(context, caller)
        let body = try await body(request, allowed: ConditionalAccessPolicy.members)
        var policy = before
        try policy.apply(body.members)
        try await resolveReferences(&policy, caller)
        try await refuseLockout(policies: [policy], locations: try await store.namedLocations(tenantId: caller.tenant.id), caller: caller)
        policy.modifiedAt = Date()
        try await store.saveConditionalAccessPolicy(policy, id: policy.id, tenantId: caller.tenant.id, replacing: true, audit: caller.audit(
            "conditionalAccessPolicy.update", targetType: "conditionalAccessPolicy", targetId: policy.id, before: before.json, after: policy.json))
        return .json(policy.json)
    }

    /// The admin CLI signs in through the token endpoint like any workload: an enforced policy
    /// (or a location change) that would block the caller's own sign-in from where it is now
    /// would lock administrators out, and is refused.
    func refuseLockout(policies: [ConditionalAccessPolicy], locations: [NamedLocation], caller: AdminCaller) async throws {
        let enforced = policies.filter { $0.state == .enabled }
        guard !enforced.isEmpty else { return }
        let principal = caller.app.servicePrincipalId
        let risk = try await store.servicePrincipalRisks(tenantId: caller.tenant.id, servicePrincipalId: principal)[principal]?.level ?? .none
        let verdicts = ConditionalAccessPolicySet(policies: enforced, locations: locations).evaluate(
            servicePrincipalId: principal, address: caller.ipAddress, risk: risk)
        guard let blocking = verdicts.first(where: { $0.result == .failure }) else { return }
        throw AdminError.forbidden(
            "Refusing: policy '\(enforced[blocking.policyIndex].displayName)' would block '\(caller.app.displayName)', the application you are signed in as, from \(caller.ipAddress), and lock you out. Exclude it (--exclude-sp '\(caller.app.displayName)') or leave your location out of the policy.")
    }

    // MARK: What-if and impact

    func servicePrincipal(_ reference: String, _ caller: AdminCaller) async throws -> AppRegistration {
        guard let app = try await store.application(
            tenantId: caller.tenant.id, reference: reference, kinds: [.application, .userAssignedIdentity, .systemAssignedIdentity])
        else {
            throw AdminError.notFound("No service principal '\(OAuthError.quoted(reference))' in this tenant (give a servicePrincipalId, appId, objectId or display name).")
        }
        return app
    }

    /// Every policy's verdict for a service principal signing in from an address, with the
    /// principal's current risk unless the body names another.
    func whatIf(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["servicePrincipalId", "ipAddress", "servicePrincipalRiskLevel"])
        let app = try await servicePrincipal(try body.requiredString("servicePrincipalId"), caller)
        let address = try body.requiredString("ipAddress")
        guard ClientAddress(address) != nil else {
            throw AdminError.badRequest("ipAddress '\(OAuthError.quoted(address))' is not an IPv4 or IPv6 address.", target: "ipAddress")
        }
        let risk: RiskLevel
        if let text = try body.string("servicePrincipalRiskLevel") {
            guard let level = RiskLevel(rawValue: text) else {
                throw AdminError.badRequest("servicePrincipalRiskLevel must be none, low, medium or high.", target: "servicePrincipalRiskLevel")
            }
            risk = level
        } else {
            risk = try await store.servicePrincipalRisks(tenantId: caller.tenant.id, servicePrincipalId: app.servicePrincipalId)[app.servicePrincipalId]?.level ?? .none
        }
        let set = ConditionalAccessPolicySet(
            policies: try await store.conditionalAccessPolicies(tenantId: caller.tenant.id), locations: try await store.namedLocations(tenantId: caller.tenant.id))
        let verdicts = set.evaluate(servicePrincipalId: app.servicePrincipalId, address: address, risk: risk)
        return .json([
            "servicePrincipalId": .string(app.servicePrincipalId), "appId": .string(app.appId), "appDisplayName": .string(app.displayName),
            "ipAddress": .string(address), "servicePrincipalRiskLevel": .string(risk.rawValue),
            "conditionalAccessStatus": .string(ConditionalAccessPolicySet.status(verdicts)),
            "namedLocations": .array(set.locationIndices(containing: address).map { index in
                let location = set.locations[index]
                return ["id": .string(location.id), "displayName": .string(location.displayName), "isTrusted": .bool(location.isTrusted)]
            }),
            "policies": .array(verdicts.map { verdict in
                let policy = set.policies[verdict.policyIndex]
                return [
                    "id": .string(policy.id), "displayName": .string(policy.displayName), "state": .string(policy.state.rawValue),
                    "result": .string(verdict.result.rawValue), "reason": .string(set.explain(verdict, address: address)),
                ]
            }),
        ])
    }

    /// Replays the sign-ins of the last `days` days against a draft policy (evaluated as if
    /// enabled): every service principal it would have blocked with a count, and the `top` most
    /// recent sign-ins it would have blocked.
    func impact(_ request: Request, _ context: SigilRequestContext, _ caller: AdminCaller) async throws -> Response {
        let body = try await body(request, allowed: ["policy", "days", "top"])
        guard var members = body.members["policy"]?.objectValue else {
            throw AdminError.badRequest("policy is required: the draft conditionalAccessPolicy to try.", target: "policy")
        }
        if let unknown = members.keys.sorted().first(where: { !ConditionalAccessPolicy.members.contains($0) }) {
            throw AdminError.badRequest("policy has an unknown member '\(OAuthError.quoted(unknown))'.", target: "policy")
        }
        if members["displayName"] == nil { members["displayName"] = "draft" }
        if members["state"] == nil { members["state"] = "enabled" }
        var draft = try ConditionalAccessPolicy.parse(members, id: "draft", now: Date())
        try await resolveReferences(&draft, caller)
        let days = try Self.integer(body, "days", range: 1...Self.impactMaximumDays) ?? 30
        let top = try Self.integer(body, "top", range: 1...Self.impactMaximumTop) ?? Self.impactDefaultTop

        let now = Date()
        let since = now.addingTimeInterval(-Double(days) * 86_400)
        let groups = try await store.signInGroups(tenantId: caller.tenant.id, since: since)
        let risks = try await store.servicePrincipalRisks(tenantId: caller.tenant.id).mapValues(\.level)
        let blocked = ImpactAnalysis.blocked(groups, draft: draft, locations: try await store.namedLocations(tenantId: caller.tenant.id), risks: risks)

        // The most recent blocked sign-ins: groups by their latest sign-in, until no remaining
        // group can hold one more recent than the `top`-th found.
        var signIns: [SignInEvent] = []
        for group in blocked.sorted(by: { $0.lastSignIn > $1.lastSignIn }) {
            if signIns.count >= top, let cutoff = signIns.last?.time, group.lastSignIn < cutoff { break }
            signIns += try await store.signIns(of: group, tenantId: caller.tenant.id, since: since, limit: top)
            signIns = Array(signIns.sorted { ($0.time, $0.id) > ($1.time, $1.id) }.prefix(top))
        }
        var principals: [String: (group: ImpactAnalysis.Group, count: Int, last: Date)] = [:]
        for group in blocked {
            let entry = principals[group.servicePrincipalId]
            principals[group.servicePrincipalId] = (group, (entry?.count ?? 0) + group.signIns, max(entry?.last ?? group.lastSignIn, group.lastSignIn))
        }
        let blockedCount = blocked.reduce(0) { $0 + $1.signIns }
        return .json([
            "policy": draft.json, "days": .integer(Int64(days)), "fromDateTime": .date(since), "untilDateTime": .date(now),
            "evaluatedSignIns": .integer(Int64(groups.reduce(0) { $0 + $1.signIns })), "blockedSignIns": .integer(Int64(blockedCount)),
            "servicePrincipals": .array(principals.values.sorted { ($0.count, $0.group.servicePrincipalId) > ($1.count, $1.group.servicePrincipalId) }.map { entry in
                [
                    "servicePrincipalId": .string(entry.group.servicePrincipalId), "appId": .string(entry.group.appId),
                    "appDisplayName": .optional(entry.group.appDisplayName), "blockedSignIns": .integer(Int64(entry.count)),
                    "lastBlockedDateTime": .date(entry.last),
                ]
            }),
            "signIns": .array(signIns.map(AdminJSON.signIn)), "signInsTruncated": .bool(blockedCount > signIns.count),
        ])
    }

    static func integer(_ body: JSONBody, _ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value = body.members[name], value != .null else { return nil }
        guard let number = value.integerValue, range.contains(Int(number)) else {
            throw AdminError.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound).", target: name)
        }
        return Int(number)
    }
}
