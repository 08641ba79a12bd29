import Foundation

/// A Conditional Access policy for workload identities: Graph's `conditionalAccessPolicy` in its
/// workload-identity subset (service principals, locations, service-principal risk; grant `block`).
public struct ConditionalAccessPolicy: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case enabled, disabled
        /// Report-only: evaluated and logged, never enforced.
        case enabledForReportingButNotEnforced

        /// Graph's three values, and `reportOnly` (the name) for the third.
        public init?(input: String) {
            if input == "reportOnly" { self = .enabledForReportingButNotEnforced } else if let state = State(rawValue: input) { self = state } else { return nil }
        }
    }

    /// `All`, in include lists of service principals and locations.
    public static let all = "All"
    /// `AllTrusted`: every location marked trusted.
    public static let allTrusted = "AllTrusted"
    /// Most entries any one list of a policy may hold.
    public static let maximumListEntries = 1000

    public var id: String
    public var displayName: String
    public var state: State
    /// Service principal ids, or `["All"]`.
    public var includeServicePrincipals: [String]
    public var excludeServicePrincipals: [String]
    /// `nil`: no location condition.
    public var locations: LocationCondition?
    /// Empty: any risk.
    public var servicePrincipalRiskLevels: [RiskLevel]
    public var createdAt: Date
    public var modifiedAt: Date

    public struct LocationCondition: Sendable, Equatable {
        /// `["All"]`, `["AllTrusted"]` or location ids.
        public var include: [String]
        /// `["AllTrusted"]` or location ids; may be empty.
        public var exclude: [String]

        public init(include: [String], exclude: [String]) {
            self.include = include
            self.exclude = exclude
        }
    }

    public init(
        id: String, displayName: String, state: State, includeServicePrincipals: [String], excludeServicePrincipals: [String] = [],
        locations: LocationCondition? = nil, servicePrincipalRiskLevels: [RiskLevel] = [], createdAt: Date, modifiedAt: Date
    ) {
        self.id = id
        self.displayName = displayName
        self.state = state
        self.includeServicePrincipals = includeServicePrincipals
        self.excludeServicePrincipals = excludeServicePrincipals
        self.locations = locations
        self.servicePrincipalRiskLevels = servicePrincipalRiskLevels
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    // MARK: Graph JSON

    /// The members a policy body may carry. `id`, `createdDateTime` and `modifiedDateTime` are
    /// read-only and ignored, so what `show --json` prints can be edited and sent back.
    public static let members: Set<String> = ["displayName", "state", "conditions", "grantControls", "id", "createdDateTime", "modifiedDateTime"]

    /// Applies the members of a Graph body to this policy (all of them for a new policy, some
    /// for an update). Service principal and location references are taken as given; the
    /// caller resolves them to ids and then calls `check()`.
    public mutating func apply(_ body: [String: JSONValue]) throws(DirectoryRuleViolation) {
        if let name = body["displayName"], name != .null {
            guard let text = name.stringValue else { throw DirectoryRuleViolation(field: "displayName", message: "displayName must be a string") }
            try DirectoryRules.checkDisplayName(text)
            displayName = text
        }
        if let value = body["state"], value != .null {
            guard let text = value.stringValue, let parsed = State(input: text) else {
                throw DirectoryRuleViolation(field: "state", message: "state must be enabled, disabled or reportOnly (enabledForReportingButNotEnforced)")
            }
            state = parsed
        }
        if let value = body["grantControls"], value != .null { try Self.checkGrantControls(value) }
        guard let value = body["conditions"], value != .null else { return }
        let conditions = try Self.object(value, "conditions", allowed: ["clientApplications", "applications", "locations", "servicePrincipalRiskLevels"])
        if let value = conditions["applications"], value != .null {
            let applications = try Self.object(value, "conditions.applications", allowed: ["includeApplications"])
            guard try Self.list(applications["includeApplications"], "conditions.applications.includeApplications") == [Self.all] else {
                throw DirectoryRuleViolation(
                    field: "conditions.applications", message: "conditions.applications.includeApplications must be [\"All\"]: workload identity policies apply to every resource")
            }
        }
        let clients = try Self.object(
            conditions["clientApplications"] ?? .null, "conditions.clientApplications", allowed: ["includeServicePrincipals", "excludeServicePrincipals"])
        includeServicePrincipals = try Self.list(clients["includeServicePrincipals"], "conditions.clientApplications.includeServicePrincipals")
        excludeServicePrincipals = try Self.list(clients["excludeServicePrincipals"], "conditions.clientApplications.excludeServicePrincipals")
        locations = nil
        if let value = conditions["locations"], value != .null {
            let object = try Self.object(value, "conditions.locations", allowed: ["includeLocations", "excludeLocations"])
            locations = LocationCondition(
                include: try Self.list(object["includeLocations"], "conditions.locations.includeLocations"),
                exclude: try Self.list(object["excludeLocations"], "conditions.locations.excludeLocations"))
        }
        servicePrincipalRiskLevels = []
        for text in try Self.list(conditions["servicePrincipalRiskLevels"], "conditions.servicePrincipalRiskLevels") {
            guard let level = RiskLevel(rawValue: text), level != .none else {
                throw DirectoryRuleViolation(
                    field: "conditions.servicePrincipalRiskLevels", message: "servicePrincipalRiskLevels may hold low, medium and high, not '\(text.prefix(64))'")
            }
            if !servicePrincipalRiskLevels.contains(level) { servicePrincipalRiskLevels.append(level) }
        }
    }

    /// A policy from a Graph body (`conditions` and `grantControls` required).
    public static func parse(_ body: [String: JSONValue], id: String, now: Date) throws(DirectoryRuleViolation) -> ConditionalAccessPolicy {
        guard body["displayName"]?.stringValue != nil else { throw DirectoryRuleViolation(field: "displayName", message: "displayName is required") }
        guard body["conditions"].map({ $0 != .null }) == true else {
            throw DirectoryRuleViolation(field: "conditions", message: "conditions is required: {\"clientApplications\": {\"includeServicePrincipals\": [\"All\"]}}")
        }
        guard body["grantControls"].map({ $0 != .null }) == true else {
            throw DirectoryRuleViolation(field: "grantControls", message: "grantControls is required: {\"operator\": \"OR\", \"builtInControls\": [\"block\"]}")
        }
        var policy = ConditionalAccessPolicy(
            id: id, displayName: "", state: .disabled, includeServicePrincipals: [], createdAt: now, modifiedAt: now)
        try policy.apply(body)
        if body["state"] == nil || body["state"] == .null {
            throw DirectoryRuleViolation(field: "state", message: "state is required: enabled, disabled or reportOnly")
        }
        return policy
    }

    /// The rules that need references resolved: something included, and not everything included
    /// also excluded (such a policy could never apply).
    public func check() throws(DirectoryRuleViolation) {
        let spField = "conditions.clientApplications.includeServicePrincipals"
        guard !includeServicePrincipals.isEmpty else {
            throw DirectoryRuleViolation(field: spField, message: "includeServicePrincipals must name service principals, or be [\"All\"]")
        }
        if includeServicePrincipals.contains(Self.all), includeServicePrincipals.count > 1 {
            throw DirectoryRuleViolation(field: spField, message: "includeServicePrincipals is either [\"All\"] or a list of ids, not both")
        }
        if excludeServicePrincipals.contains(Self.all) {
            throw DirectoryRuleViolation(
                field: "conditions.clientApplications.excludeServicePrincipals",
                message: "excludeServicePrincipals cannot be All: the policy would exclude everyone and could never apply")
        }
        if !includeServicePrincipals.contains(Self.all), Set(includeServicePrincipals).isSubset(of: excludeServicePrincipals) {
            throw DirectoryRuleViolation(
                field: "conditions.clientApplications.excludeServicePrincipals",
                message: "every included service principal is also excluded: the policy could never apply. Exclude fewer, or include more")
        }
        guard let locations else { return }
        let includeField = "conditions.locations.includeLocations"
        guard !locations.include.isEmpty else {
            throw DirectoryRuleViolation(field: includeField, message: "includeLocations must be [\"All\"], [\"AllTrusted\"] or location ids")
        }
        let special = locations.include.filter { $0 == Self.all || $0 == Self.allTrusted }
        if !special.isEmpty, locations.include.count > 1 {
            throw DirectoryRuleViolation(field: includeField, message: "includeLocations is either [\"All\"], [\"AllTrusted\"] or a list of location ids")
        }
        if locations.exclude.contains(Self.all) {
            throw DirectoryRuleViolation(
                field: "conditions.locations.excludeLocations", message: "excludeLocations cannot be All: the policy would exclude everyone and could never apply")
        }
        if locations.exclude.contains(Self.allTrusted), locations.exclude.count > 1 {
            throw DirectoryRuleViolation(field: "conditions.locations.excludeLocations", message: "excludeLocations is either [\"AllTrusted\"] or a list of location ids")
        }
        let excludedAll = locations.include != [Self.all]
            && (Set(locations.include).isSubset(of: locations.exclude) || (locations.include == [Self.allTrusted] && locations.exclude == [Self.allTrusted]))
        if excludedAll {
            throw DirectoryRuleViolation(
                field: "conditions.locations.excludeLocations",
                message: "every included location is also excluded: the policy could never apply. Exclude fewer locations, or include more")
        }
    }

    /// Graph's JSON of the policy, as the admin API returns it.
    public var json: JSONValue {
        var conditions: [String: JSONValue] = [
            "applications": ["includeApplications": [.string(Self.all)]],
            "clientApplications": [
                "includeServicePrincipals": .array(includeServicePrincipals.map(JSONValue.string)),
                "excludeServicePrincipals": .array(excludeServicePrincipals.map(JSONValue.string)),
            ],
            "servicePrincipalRiskLevels": .array(servicePrincipalRiskLevels.map { .string($0.rawValue) }),
            "locations": .null,
        ]
        if let locations {
            conditions["locations"] = [
                "includeLocations": .array(locations.include.map(JSONValue.string)), "excludeLocations": .array(locations.exclude.map(JSONValue.string)),
            ]
        }
        return [
            "id": .string(id), "displayName": .string(displayName), "state": .string(state.rawValue), "conditions": .object(conditions),
            "grantControls": ["operator": "OR", "builtInControls": ["block"]],
            "createdDateTime": .string(createdAt.formatted(.iso8601)), "modifiedDateTime": .string(modifiedAt.formatted(.iso8601)),
        ]
    }

    // MARK: Parsing helpers

    static func checkGrantControls(_ value: JSONValue) throws(DirectoryRuleViolation) {
        let object = try object(value, "grantControls", allowed: ["operator", "builtInControls", "customAuthenticationFactors", "termsOfUse"])
        let controls = try list(object["builtInControls"], "grantControls.builtInControls")
        let operatorOK = object["operator"].map { $0 == .null || $0 == "OR" || $0 == "AND" } ?? true
        let extras = ["customAuthenticationFactors", "termsOfUse"].allSatisfy { (object[$0]?.arrayValue ?? []).isEmpty }
        guard controls == ["block"], operatorOK, extras else {
            throw DirectoryRuleViolation(
                field: "grantControls", message: "grantControls must be {\"operator\": \"OR\", \"builtInControls\": [\"block\"]}: block is the only grant for workload identities")
        }
    }

    static func object(_ value: JSONValue, _ field: String, allowed: Set<String>) throws(DirectoryRuleViolation) -> [String: JSONValue] {
        guard let object = value.objectValue else { throw DirectoryRuleViolation(field: field, message: "\(field) is required and must be an object") }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw DirectoryRuleViolation(
                field: field,
                message: "\(field) has an unknown member '\(unknown.prefix(64))'; the workload identity subset allows \(allowed.sorted().joined(separator: ", "))")
        }
        return object
    }

    static func list(_ value: JSONValue?, _ field: String) throws(DirectoryRuleViolation) -> [String] {
        guard let value, value != .null else { return [] }
        guard let array = value.arrayValue, array.allSatisfy({ $0.stringValue != nil }) else {
            throw DirectoryRuleViolation(field: field, message: "\(field) must be an array of strings")
        }
        guard array.count <= maximumListEntries else { throw DirectoryRuleViolation(field: field, message: "\(field) may hold at most \(maximumListEntries) entries") }
        var seen = Set<String>()
        return array.compactMap(\.stringValue).filter { seen.insert($0).inserted }
    }
}
