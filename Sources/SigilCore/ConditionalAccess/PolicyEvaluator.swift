import Crypto
import Foundation

/// What one policy did to one request (Graph's `appliedConditionalAccessPolicy.result`). `block`
/// is the only grant, so a policy that applies fails the request; `success` would need a grant
/// a client can satisfy and is never produced.
public enum ConditionalAccessResult: String, Sendable, CaseIterable {
    case failure, notApplied, notEnabled, reportOnlyFailure, reportOnlyNotApplied

    /// One character per result, for the sign-in row.
    var code: Character {
        switch self {
        case .failure: "f"
        case .notApplied: "n"
        case .notEnabled: "d"
        case .reportOnlyFailure: "F"
        case .reportOnlyNotApplied: "N"
        }
    }

    init?(code: Character) {
        guard let result = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = result
    }
}

/// Why a policy applied or not, for `what-if`.
public enum ConditionalAccessReason: Sendable, Equatable {
    case disabled
    case servicePrincipalNotIncluded
    case servicePrincipalExcluded
    case noIncludedLocation
    /// The address is in this excluded location (its display name).
    case excludedLocation(String)
    case riskNotIncluded(RiskLevel)
    case conditionsMet
}

/// One policy's verdict on one request.
public struct ConditionalAccessVerdict: Sendable, Equatable {
    public let policy: ConditionalAccessPolicy
    public let result: ConditionalAccessResult
    public let reason: ConditionalAccessReason
}

/// The policies of a tenant and their named locations, compiled for evaluation in memory:
/// locations become disjoint sorted address segments, each knowing which locations cover it, so
/// an address costs one binary search whatever the number of locations.
public struct ConditionalAccessPolicySet: Sendable {
    public let policies: [ConditionalAccessPolicy]
    public let locations: [NamedLocation]
    /// Identifies the list of policies (ids and names, in order) that a sign-in's results refer to.
    public let snapshot: PolicySetSnapshot

    private let segments: [CIDRRange.Family: Segments]
    private let compiled: [CompiledPolicy]

    private struct Segments: Sendable {
        /// Segment `i` runs from `starts[i]` to just before `starts[i + 1]`.
        var starts: [UInt128] = []
        var covering: [[Int]] = []

        func locations(at value: UInt128) -> [Int] {
            let next = starts.partitioningIndex { $0 > value }
            return next == 0 ? [] : covering[next - 1]
        }
    }

    private struct CompiledPolicy: Sendable {
        var allServicePrincipals: Bool
        var include: Set<String>
        var exclude: Set<String>
        var hasLocations: Bool
        var includeAllLocations: Bool
        var includeTrusted: Bool
        var includeLocations: Set<Int>
        var excludeTrusted: Bool
        var excludeLocations: Set<Int>
        var risks: Set<RiskLevel>
    }

    public static let empty = ConditionalAccessPolicySet(policies: [], locations: [])

    public init(policies: [ConditionalAccessPolicy], locations: [NamedLocation]) {
        self.policies = policies
        self.locations = locations
        snapshot = PolicySetSnapshot(policies: policies)
        let index = Dictionary(locations.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { first, _ in first })
        compiled = policies.map { policy in
            let include = policy.locations?.include ?? []
            let exclude = policy.locations?.exclude ?? []
            return CompiledPolicy(
                allServicePrincipals: policy.includeServicePrincipals.contains(ConditionalAccessPolicy.all),
                include: Set(policy.includeServicePrincipals), exclude: Set(policy.excludeServicePrincipals),
                hasLocations: policy.locations != nil, includeAllLocations: include.contains(ConditionalAccessPolicy.all),
                includeTrusted: include.contains(ConditionalAccessPolicy.allTrusted), includeLocations: Set(include.compactMap { index[$0] }),
                excludeTrusted: exclude.contains(ConditionalAccessPolicy.allTrusted), excludeLocations: Set(exclude.compactMap { index[$0] }),
                risks: Set(policy.servicePrincipalRiskLevels))
        }
        var segments: [CIDRRange.Family: Segments] = [:]
        for family in [CIDRRange.Family.ipv4, .ipv6] {
            segments[family] = Self.segments(locations.enumerated().flatMap { offset, location in
                location.ranges.filter { $0.family == family }.map { ($0.first, $0.last, offset) }
            })
        }
        self.segments = segments
    }

    /// Splits possibly overlapping ranges into disjoint segments with the locations covering each.
    private static func segments(_ ranges: [(first: UInt128, last: UInt128, location: Int)]) -> Segments {
        var boundaries = Set<UInt128>()
        for range in ranges {
            boundaries.insert(range.first)
            if range.last < UInt128.max { boundaries.insert(range.last + 1) }
        }
        var result = Segments()
        result.starts = boundaries.sorted()
        result.covering = Array(repeating: [], count: result.starts.count)
        for range in ranges {
            var index = result.starts.partitioningIndex { $0 >= range.first }
            while index < result.starts.count, result.starts[index] <= range.last {
                result.covering[index].append(range.location)
                index += 1
            }
        }
        return result
    }

    /// The indices (into `locations`) of the named locations that contain `address`; none for
    /// something that is not an address.
    public func locationIndices(containing address: String) -> [Int] {
        guard let parsed = ClientAddress(address) else { return [] }
        return segments[parsed.family]?.locations(at: parsed.value) ?? []
    }

    /// Evaluates every policy for one request, in order.
    public func evaluate(servicePrincipalId: String, address: String, risk: RiskLevel) -> [ConditionalAccessVerdict] {
        let matched = locationIndices(containing: address)
        let trusted = matched.first { locations[$0].isTrusted }
        return zip(policies, compiled).map { policy, rules in
            let (applies, reason) = Self.applies(rules, servicePrincipalId: servicePrincipalId, matched: matched, trusted: trusted, locations: locations, risk: risk)
            let result: ConditionalAccessResult
            switch policy.state {
            case .disabled: return ConditionalAccessVerdict(policy: policy, result: .notEnabled, reason: .disabled)
            case .enabled: result = applies ? .failure : .notApplied
            case .enabledForReportingButNotEnforced: result = applies ? .reportOnlyFailure : .reportOnlyNotApplied
            }
            return ConditionalAccessVerdict(policy: policy, result: result, reason: reason)
        }
    }

    private static func applies(
        _ rules: CompiledPolicy, servicePrincipalId: String, matched: [Int], trusted: Int?, locations: [NamedLocation], risk: RiskLevel
    ) -> (Bool, ConditionalAccessReason) {
        guard rules.allServicePrincipals || rules.include.contains(servicePrincipalId) else { return (false, .servicePrincipalNotIncluded) }
        guard !rules.exclude.contains(servicePrincipalId) else { return (false, .servicePrincipalExcluded) }
        if rules.hasLocations {
            let included = rules.includeAllLocations || (rules.includeTrusted && trusted != nil) || matched.contains(where: rules.includeLocations.contains)
            guard included else { return (false, .noIncludedLocation) }
            if rules.excludeTrusted, let trusted { return (false, .excludedLocation(locations[trusted].displayName)) }
            if let excluded = matched.first(where: rules.excludeLocations.contains) { return (false, .excludedLocation(locations[excluded].displayName)) }
        }
        guard rules.risks.isEmpty || rules.risks.contains(risk) else { return (false, .riskNotIncluded(risk)) }
        return (true, .conditionsMet)
    }

    /// Graph's `conditionalAccessStatus` for these verdicts: `failure` when an enforced policy
    /// blocked, otherwise `notApplied` (report-only results never change it).
    public static func status(_ verdicts: [ConditionalAccessVerdict]) -> String {
        verdicts.contains { $0.result == .failure } ? "failure" : "notApplied"
    }

    /// A sentence on why a verdict came out as it did.
    public static func explain(_ verdict: ConditionalAccessVerdict, address: String) -> String {
        let policy = verdict.policy
        switch verdict.reason {
        case .disabled: return "the policy is disabled"
        case .servicePrincipalNotIncluded: return "the service principal is not among those the policy includes"
        case .servicePrincipalExcluded: return "the service principal is excluded"
        case .noIncludedLocation:
            return ClientAddress(address) == nil
                ? "'\(address)' is not an IP address, so it is in no named location, and the policy includes only \(policy.locations?.include == [ConditionalAccessPolicy.allTrusted] ? "trusted locations" : "listed locations")"
                : "\(address) is in none of the locations the policy includes"
        case .excludedLocation(let name): return "\(address) is in the excluded location '\(name)'"
        case .riskNotIncluded(let risk):
            return "the service principal's risk is \(risk.rawValue), not \(policy.servicePrincipalRiskLevels.map(\.rawValue).joined(separator: " or "))"
        case .conditionsMet:
            return policy.state == .enabled
                ? "every condition matches: the request is blocked"
                : "every condition matches: the request would be blocked (report-only, not enforced)"
        }
    }
}

/// The list of policies a sign-in was evaluated against (ids and display names, in order),
/// named by a hash of itself. The sign-in row keeps only the hash and one character per policy;
/// the list itself is stored once, when the policies change.
public struct PolicySetSnapshot: Sendable, Equatable {
    public let id: String
    /// `[{"id": …, "displayName": …}, …]`.
    public let json: String

    public init(policies: [ConditionalAccessPolicy]) {
        json = JSONValue.array(policies.map { ["id": .string($0.id), "displayName": .string($0.displayName)] }).serialized()
        id = SHA256.hash(data: Data(json.utf8)).prefix(16).lowerHex
    }

    /// The results column of a sign-in row: one character per policy, in the snapshot's order.
    public static func codes(_ verdicts: [ConditionalAccessVerdict]) -> String { String(verdicts.map(\.result.code)) }

    /// Graph's `appliedConditionalAccessPolicies` from a stored snapshot and a row's results.
    public static func applied(snapshotJSON: String, codes: String) -> [AppliedConditionalAccessPolicy] {
        let entries = (try? JSONParser.parse(Array(snapshotJSON.utf8)))?.arrayValue ?? []
        return zip(entries, codes).compactMap { entry, code in
            guard let id = entry.objectValue?["id"]?.stringValue, let result = ConditionalAccessResult(code: code) else { return nil }
            return AppliedConditionalAccessPolicy(id: id, displayName: entry.objectValue?["displayName"]?.stringValue ?? "", result: result)
        }
    }
}

/// The policies a sign-in was evaluated against and the result of each.
public struct SignInPolicyResults: Sendable, Equatable {
    /// The `PolicySetSnapshot` the results refer to.
    public var policySetId: String
    /// One `ConditionalAccessResult` code per policy of the snapshot.
    public var codes: String
    /// Filled in when read: each policy with its result.
    public var applied: [AppliedConditionalAccessPolicy]

    public init(policySetId: String, codes: String, applied: [AppliedConditionalAccessPolicy] = []) {
        self.policySetId = policySetId
        self.codes = codes
        self.applied = applied
    }

    /// What a token request records for these verdicts; nil when there were no policies.
    public init?(_ verdicts: [ConditionalAccessVerdict], snapshot: PolicySetSnapshot) {
        guard !verdicts.isEmpty else { return nil }
        self.init(policySetId: snapshot.id, codes: PolicySetSnapshot.codes(verdicts))
    }
}

/// One policy's result on a recorded sign-in.
public struct AppliedConditionalAccessPolicy: Sendable, Equatable {
    public var id: String
    public var displayName: String
    public var result: ConditionalAccessResult

    public init(id: String, displayName: String, result: ConditionalAccessResult) {
        self.id = id
        self.displayName = displayName
        self.result = result
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then true along the array.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var (low, high) = (0, count)
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
