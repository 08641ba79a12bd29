import Crypto
import Foundation

/// What one policy did to one request (Graph's `appliedConditionalAccessPolicy.result`). `block`
/// is the only grant, so a policy that applies fails the request; `success` would need a grant
/// a client can satisfy and is never produced.
public enum ConditionalAccessResult: String, Sendable, CaseIterable {
    case failure, notApplied, notEnabled, reportOnlyFailure, reportOnlyNotApplied

    /// One ASCII character per result, for the sign-in row.
    var code: UInt8 {
        switch self {
        case .failure: UInt8(ascii: "f")
        case .notApplied: UInt8(ascii: "n")
        case .notEnabled: UInt8(ascii: "d")
        case .reportOnlyFailure: UInt8(ascii: "F")
        case .reportOnlyNotApplied: UInt8(ascii: "N")
        }
    }

    init?(code: UInt8) {
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
    /// The address is in this excluded location (its index in the set's `locations`).
    case excludedLocation(Int)
    case riskNotIncluded(RiskLevel)
    case conditionsMet
}

/// One policy's verdict on one request (plain values: a request makes one per policy).
public struct ConditionalAccessVerdict: Sendable, Equatable {
    /// The policy's index in the set's `policies`.
    public let policyIndex: Int
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
    /// A number for each service principal any policy names, so a request hashes its id once.
    private let principalNumbers: [String: Int]

    private struct Segments: Sendable {
        /// Segment `i` runs from `starts[i]` to just before `starts[i + 1]`.
        var starts: [UInt128] = []
        var covering: [[Int]] = []

        func locations(at value: UInt128) -> [Int] {
            let next = starts.partitioningIndex { $0 > value }
            return next == 0 ? [] : covering[next - 1]
        }
    }

    /// A policy as plain values (copying one costs no reference counting): its lists are sorted
    /// runs of `lists`, service principals and locations by number, searched by bisection.
    private struct CompiledPolicy: Sendable {
        var state: ConditionalAccessPolicy.State
        var allServicePrincipals: Bool
        var include: Range<Int>
        var exclude: Range<Int>
        var hasLocations: Bool
        var includeAllLocations: Bool
        var includeTrusted: Bool
        var includeLocations: Range<Int>
        var excludeTrusted: Bool
        var excludeLocations: Range<Int>
        /// One bit per `RiskLevel`; 0: any risk.
        var risks: UInt8
    }

    private let lists: [Int]

    private static func riskBit(_ level: RiskLevel) -> UInt8 { 1 << UInt8(RiskLevel.allCases.firstIndex(of: level)!) }

    public static let empty = ConditionalAccessPolicySet(policies: [], locations: [])

    public init(policies: [ConditionalAccessPolicy], locations: [NamedLocation]) {
        self.policies = policies
        self.locations = locations
        snapshot = PolicySetSnapshot(policies: policies)
        let index = Dictionary(locations.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var numbers: [String: Int] = [:]
        for id in policies.flatMap({ $0.includeServicePrincipals + $0.excludeServicePrincipals }) where numbers[id] == nil { numbers[id] = numbers.count }
        principalNumbers = numbers
        var lists: [Int] = []
        func run(_ values: [Int]) -> Range<Int> {
            let start = lists.count
            lists += Set(values).sorted()
            return start..<lists.count
        }
        compiled = policies.map { policy in
            let include = policy.locations?.include ?? []
            let exclude = policy.locations?.exclude ?? []
            return CompiledPolicy(
                state: policy.state, allServicePrincipals: policy.includeServicePrincipals.contains(ConditionalAccessPolicy.all),
                include: run(policy.includeServicePrincipals.compactMap { numbers[$0] }),
                exclude: run(policy.excludeServicePrincipals.compactMap { numbers[$0] }),
                hasLocations: policy.locations != nil, includeAllLocations: include.contains(ConditionalAccessPolicy.all),
                includeTrusted: include.contains(ConditionalAccessPolicy.allTrusted), includeLocations: run(include.compactMap { index[$0] }),
                excludeTrusted: exclude.contains(ConditionalAccessPolicy.allTrusted), excludeLocations: run(exclude.compactMap { index[$0] }),
                risks: policy.servicePrincipalRiskLevels.reduce(0) { $0 | Self.riskBit($1) })
        }
        self.lists = lists
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
        let principal = principalNumbers[servicePrincipalId]
        var verdicts: [ConditionalAccessVerdict] = []
        verdicts.reserveCapacity(compiled.count)
        lists.withUnsafeBufferPointer { lists in
            for (index, rules) in compiled.enumerated() {
                guard rules.state != .disabled else {
                    verdicts.append(ConditionalAccessVerdict(policyIndex: index, result: .notEnabled, reason: .disabled))
                    continue
                }
                let (applies, reason) = Self.applies(rules, lists: lists, principal: principal, matched: matched, trusted: trusted, risk: risk)
                let result: ConditionalAccessResult = rules.state == .enabled
                    ? (applies ? .failure : .notApplied) : (applies ? .reportOnlyFailure : .reportOnlyNotApplied)
                verdicts.append(ConditionalAccessVerdict(policyIndex: index, result: result, reason: reason))
            }
        }
        return verdicts
    }

    private static func applies(
        _ rules: CompiledPolicy, lists: UnsafeBufferPointer<Int>, principal: Int?, matched: [Int], trusted: Int?, risk: RiskLevel
    ) -> (Bool, ConditionalAccessReason) {
        func holds(_ run: Range<Int>, _ value: Int?) -> Bool {
            guard let value, !run.isEmpty else { return false }
            let index = lists[run].partitioningIndex { $0 >= value }
            return index < run.upperBound && lists[index] == value
        }
        guard rules.allServicePrincipals || holds(rules.include, principal) else { return (false, .servicePrincipalNotIncluded) }
        guard !holds(rules.exclude, principal) else { return (false, .servicePrincipalExcluded) }
        if rules.hasLocations {
            let included = rules.includeAllLocations || (rules.includeTrusted && trusted != nil) || matched.contains { holds(rules.includeLocations, $0) }
            guard included else { return (false, .noIncludedLocation) }
            if rules.excludeTrusted, let trusted { return (false, .excludedLocation(trusted)) }
            if let excluded = matched.first(where: { holds(rules.excludeLocations, $0) }) { return (false, .excludedLocation(excluded)) }
        }
        guard rules.risks == 0 || rules.risks & riskBit(risk) != 0 else { return (false, .riskNotIncluded(risk)) }
        return (true, .conditionsMet)
    }

    /// Graph's `conditionalAccessStatus` for these verdicts: `failure` when an enforced policy
    /// blocked, otherwise `notApplied` (report-only results never change it).
    public static func status(_ verdicts: [ConditionalAccessVerdict]) -> String {
        verdicts.contains { $0.result == .failure } ? "failure" : "notApplied"
    }

    /// A sentence on why a verdict came out as it did.
    public func explain(_ verdict: ConditionalAccessVerdict, address: String) -> String {
        let policy = policies[verdict.policyIndex]
        switch verdict.reason {
        case .disabled: return "the policy is disabled"
        case .servicePrincipalNotIncluded: return "the service principal is not among those the policy includes"
        case .servicePrincipalExcluded: return "the service principal is excluded"
        case .noIncludedLocation:
            return ClientAddress(address) == nil
                ? "'\(address)' is not an IP address, so it is in no named location, and the policy includes only \(policy.locations?.include == [ConditionalAccessPolicy.allTrusted] ? "trusted locations" : "listed locations")"
                : "\(address) is in none of the locations the policy includes"
        case .excludedLocation(let index): return "\(address) is in the excluded location '\(locations[index].displayName)'"
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
    public static func codes(_ verdicts: [ConditionalAccessVerdict]) -> String { String(decoding: verdicts.map(\.result.code), as: UTF8.self) }

    /// Graph's `appliedConditionalAccessPolicies` from a stored snapshot and a row's results.
    public static func applied(snapshotJSON: String, codes: String) -> [AppliedConditionalAccessPolicy] {
        let entries = (try? JSONParser.parse(Array(snapshotJSON.utf8)))?.arrayValue ?? []
        return zip(entries, codes.utf8).compactMap { entry, code in
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

extension RandomAccessCollection where Index == Int {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then true along the collection.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var (low, high) = (startIndex, endIndex)
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
