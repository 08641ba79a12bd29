import Foundation
import SigilCore
import Testing

/// Conditional Access in the core: CIDR parsing (the refusals first), named locations, policy
/// JSON, and the evaluator's matrix of states, principals, locations and risk levels.
@Suite struct ConditionalAccessTests {
    static func refusal(_ text: String) -> String? {
        do {
            _ = try CIDRRange(text)
            return nil
        } catch {
            return error.message
        }
    }

    @Test(arguments: [
        ("10.0.0.0", "prefix length"), ("10.0.0.0/", "invalid prefix"), ("10.0.0.0/33", "from 0 to 32"), ("10.0.0.0/+8", "invalid prefix"),
        ("10.0.0.0/-1", "invalid prefix"), ("10.0.0/8", "not an IPv4 or IPv6 address"), ("10.0.0.256/32", "not an IPv4"),
        ("office/24", "not an IPv4"), ("2001:db8::/129", "from 0 to 128"), ("fe80::1%eth0/64", "not an IPv4"), ("", "not a CIDR range"),
        ("10.0.0.0/8/8", "invalid prefix"), (" 10.0.0.0/8", "not an IPv4"),
    ])
    func malformedRangesAreRefused(_ text: String, _ expected: String) throws {
        let message = try #require(Self.refusal(text), "\(text) was accepted")
        #expect(message.contains(expected), "\(text): \(message)")
    }

    @Test func hostBitsAreRefusedWithTheCorrectedRange() {
        #expect(Self.refusal("10.1.2.3/8")?.contains("did you mean 10.0.0.0/8?") == true)
        #expect(Self.refusal("2001:db8::1/32")?.contains("did you mean 2001:db8::/32?") == true)
        #expect(Self.refusal("192.168.1.128/24")?.contains("did you mean 192.168.1.0/24?") == true)
    }

    @Test func ipv4MappedRangesAskForTheIPv4Range() {
        #expect(Self.refusal("::ffff:10.0.0.0/104")?.contains("write the IPv4 range 10.0.0.0/8 instead") == true)
        #expect(Self.refusal("::ffff:0:0/96")?.contains("write the IPv4 range 0.0.0.0/0 instead") == true)
        #expect(Self.refusal("::ffff:203.0.113.7/128")?.contains("203.0.113.7/32") == true)
        // A wider IPv6 range that merely contains the mapped space is an IPv6 range like any other.
        #expect(Self.refusal("::/0") == nil)
    }

    @Test func rangesAreCanonical() throws {
        #expect(try CIDRRange("2001:DB8:0:0::/48").description == "2001:db8::/48")
        #expect(try CIDRRange("0.0.0.0/0").description == "0.0.0.0/0")
        #expect(try CIDRRange("203.0.113.7/32").first == 0xCB00_7107)
        let all6 = try CIDRRange("::/0")
        #expect(all6.first == 0 && all6.last == UInt128.max)
    }

    @Test func overlapsWithinALocationAreRefusedNamingBoth() {
        func refusal(_ ranges: [String]) -> String? {
            do {
                _ = try NamedLocation.ranges(.array(ranges.map { ["cidrAddress": .string($0)] }))
                return nil
            } catch {
                return error.message
            }
        }
        #expect(refusal(["10.0.0.0/8", "10.0.0.0/8"])?.contains("10.0.0.0/8 is listed twice") == true)
        #expect(refusal(["10.0.0.0/8", "10.20.0.0/16"])?.contains("10.20.0.0/16 overlaps 10.0.0.0/8") == true)
        #expect(refusal(["2001:db8::/32", "2001:db8:1::/48"])?.contains("overlaps 2001:db8::/32") == true)
        #expect(refusal(["10.0.0.0/8", "11.0.0.0/8", "2001:db8::/32"]) == nil, "adjacent ranges and other families do not overlap")
        #expect(refusal([])?.contains("at least one range") == true)
        #expect(refusal(["10.0.0.0/8"]) == nil)
        let mismatched: JSONValue = [["@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "10.0.0.0/8"]]
        #expect(throws: DirectoryRuleViolation.self) { try NamedLocation.ranges(mismatched) }
    }

    @Test func aPeerSeenAsIPv4MappedIsMatchedAsIPv4() {
        #expect(ClientAddress("::ffff:10.1.2.3") == ClientAddress("10.1.2.3"))
        #expect(ClientAddress("unknown") == nil)
        #expect(ClientAddress("/run/sigil.sock") == nil)
    }

    // MARK: Policies

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func location(_ id: String, trusted: Bool, _ ranges: [String]) -> NamedLocation {
        NamedLocation(id: id, displayName: id, isTrusted: trusted, ranges: ranges.map { try! CIDRRange($0) }, createdAt: now, modifiedAt: now)
    }

    let locations = [
        Self.location("office", trusted: true, ["10.0.0.0/8", "2001:db8::/32"]),
        Self.location("lab", trusted: false, ["10.20.0.0/16"]),  // overlaps office: allowed across locations
        Self.location("partner", trusted: false, ["198.51.100.0/24"]),
    ]

    static func policy(
        _ id: String, state: ConditionalAccessPolicy.State = .enabled, include: [String] = ["All"], exclude: [String] = [],
        locations: ConditionalAccessPolicy.LocationCondition? = nil, risks: [RiskLevel] = []
    ) -> ConditionalAccessPolicy {
        ConditionalAccessPolicy(
            id: id, displayName: id, state: state, includeServicePrincipals: include, excludeServicePrincipals: exclude, locations: locations,
            servicePrincipalRiskLevels: risks, createdAt: now, modifiedAt: now)
    }

    func results(_ policies: [ConditionalAccessPolicy], sp: String = "sp-1", address: String, risk: RiskLevel = .none) -> [ConditionalAccessResult] {
        ConditionalAccessPolicySet(policies: policies, locations: locations).evaluate(servicePrincipalId: sp, address: address, risk: risk).map(\.result)
    }

    @Test func outsideTrustedLocationsIsBlockedInsideIsNot() {
        let policy = Self.policy("outside", locations: .init(include: ["All"], exclude: ["AllTrusted"]))
        #expect(results([policy], address: "203.0.113.9") == [.failure])
        #expect(results([policy], address: "10.1.2.3") == [.notApplied])
        #expect(results([policy], address: "::ffff:10.1.2.3") == [.notApplied], "a v4-mapped peer is in its IPv4 location")
        #expect(results([policy], address: "2001:db8::7") == [.notApplied])
        #expect(results([policy], address: "unknown") == [.failure], "no address is in no location, trusted ones included")
    }

    @Test func listedLocationsMatchAcrossOverlaps() {
        let lab = Self.policy("lab-only", locations: .init(include: ["lab"], exclude: []))
        #expect(results([lab], address: "10.20.1.1") == [.failure])
        #expect(results([lab], address: "10.30.1.1") == [.notApplied])
        #expect(results([lab], address: "unknown") == [.notApplied])
        let officeButLab = Self.policy("office-not-lab", locations: .init(include: ["office"], exclude: ["lab"]))
        #expect(results([officeButLab], address: "10.20.1.1") == [.notApplied])
        #expect(results([officeButLab], address: "10.21.1.1") == [.failure])
        let trustedOnly = Self.policy("trusted", locations: .init(include: ["AllTrusted"], exclude: []))
        #expect(results([trustedOnly], address: "2001:db8:5::1") == [.failure])
        #expect(results([trustedOnly], address: "198.51.100.1") == [.notApplied])
    }

    @Test func principalsStatesAndRiskFormAMatrix() {
        let set = [
            Self.policy("all"), Self.policy("only-sp-2", include: ["sp-2"]), Self.policy("all-but-sp-1", exclude: ["sp-1"]),
            Self.policy("report", state: .enabledForReportingButNotEnforced), Self.policy("report-sp-2", state: .enabledForReportingButNotEnforced, include: ["sp-2"]),
            Self.policy("off", state: .disabled), Self.policy("risky", risks: [.medium, .high]),
        ]
        #expect(results(set, address: "203.0.113.1") == [.failure, .notApplied, .notApplied, .reportOnlyFailure, .reportOnlyNotApplied, .notEnabled, .notApplied])
        #expect(results(set, sp: "sp-2", address: "203.0.113.1", risk: .high) == [.failure, .failure, .failure, .reportOnlyFailure, .reportOnlyFailure, .notEnabled, .failure])
        #expect(results(set, sp: "sp-named-nowhere", address: "203.0.113.1") == [.failure, .notApplied, .failure, .reportOnlyFailure, .reportOnlyNotApplied, .notEnabled, .notApplied])
        #expect(results([Self.policy("risky", risks: [.high])], address: "203.0.113.1", risk: .medium) == [.notApplied])
        #expect(results([Self.policy("risky", risks: [.low])], address: "203.0.113.1", risk: .none) == [.notApplied])
    }

    @Test func reportOnlyNeverChangesTheStatus() {
        let set = ConditionalAccessPolicySet(policies: [Self.policy("report", state: .enabledForReportingButNotEnforced)], locations: locations)
        let verdicts = set.evaluate(servicePrincipalId: "sp-1", address: "203.0.113.1", risk: .none)
        #expect(verdicts.map(\.result) == [.reportOnlyFailure])
        #expect(ConditionalAccessPolicySet.status(verdicts) == "notApplied")
        #expect(set.explain(verdicts[0], address: "203.0.113.1").contains("would be blocked"))
        let blocking = ConditionalAccessPolicySet(policies: [Self.policy("block")], locations: locations)
        #expect(ConditionalAccessPolicySet.status(blocking.evaluate(servicePrincipalId: "sp-1", address: "203.0.113.1", risk: .none)) == "failure")
    }

    @Test func reasonsSayWhy() {
        let policy = Self.policy("outside", exclude: ["sp-9"], locations: .init(include: ["All"], exclude: ["AllTrusted"]), risks: [.high])
        let set = ConditionalAccessPolicySet(policies: [policy], locations: locations)
        func why(_ sp: String, _ address: String, _ risk: RiskLevel) -> String {
            set.explain(set.evaluate(servicePrincipalId: sp, address: address, risk: risk)[0], address: address)
        }
        #expect(why("sp-9", "203.0.113.1", .high) == "the service principal is excluded")
        #expect(why("sp-1", "10.1.1.1", .high) == "10.1.1.1 is in the excluded location 'office'")
        #expect(why("sp-1", "203.0.113.1", .low) == "the service principal's risk is low, not high")
        #expect(why("sp-1", "203.0.113.1", .high) == "every condition matches: the request is blocked")
    }

    @Test func thousandsOfLocationsStillMatchExactly() {
        // 1,000 /24s and one wide range over them all: segments must keep both.
        var many = (0..<1000).map { Self.location("net-\($0)", trusted: false, ["10.\($0 / 256).\($0 % 256).0/24"]) }
        many.append(Self.location("wide", trusted: true, ["10.0.0.0/8"]))
        let set = ConditionalAccessPolicySet(policies: [], locations: many)
        #expect(set.locationIndices(containing: "10.3.231.9").map { set.locations[$0].id }.sorted() == ["net-999", "wide"])
        #expect(set.locationIndices(containing: "10.3.232.9").map { set.locations[$0].id } == ["wide"])
        #expect(set.locationIndices(containing: "11.0.0.1").isEmpty)
        #expect(set.locationIndices(containing: "10.0.0.0").count == 2, "the first address of both")
        #expect(set.locationIndices(containing: "10.255.255.255").map { set.locations[$0].id } == ["wide"], "the last address")
    }

    @Test func policiesThatCouldNeverApplyAreRefused() {
        func refusal(_ policy: ConditionalAccessPolicy) -> String? {
            do {
                try policy.check()
                return nil
            } catch {
                return error.message
            }
        }
        #expect(refusal(Self.policy("p", include: ["sp-1"], exclude: ["sp-1"]))?.contains("could never apply") == true)
        #expect(refusal(Self.policy("p", exclude: ["All"]))?.contains("exclude everyone") == true)
        #expect(refusal(Self.policy("p", include: []))?.contains("must name service principals") == true)
        #expect(refusal(Self.policy("p", locations: .init(include: ["office"], exclude: ["office"])))?.contains("could never apply") == true)
        #expect(refusal(Self.policy("p", locations: .init(include: ["AllTrusted"], exclude: ["AllTrusted"])))?.contains("could never apply") == true)
        #expect(refusal(Self.policy("p", locations: .init(include: [], exclude: ["AllTrusted"])))?.contains("includeLocations") == true)
        #expect(refusal(Self.policy("p", include: ["All", "sp-1"]))?.contains("either") == true)
        #expect(refusal(Self.policy("p", include: ["All"], exclude: ["sp-1"])) == nil, "All but some is fine")
        #expect(refusal(Self.policy("p", locations: .init(include: ["All"], exclude: ["AllTrusted"]))) == nil)
    }

    @Test func graphJSONRoundTripsAndBothReportOnlySpellingsAreAccepted() throws {
        let body: [String: JSONValue] = [
            "displayName": "outside", "state": "reportOnly",
            "conditions": [
                "applications": ["includeApplications": ["All"]],
                "clientApplications": ["includeServicePrincipals": ["All"], "excludeServicePrincipals": ["sp-1"]],
                "locations": ["includeLocations": ["All"], "excludeLocations": ["AllTrusted"]], "servicePrincipalRiskLevels": ["high", "high"],
            ],
            "grantControls": ["operator": "OR", "builtInControls": ["block"]],
        ]
        let policy = try ConditionalAccessPolicy.parse(body, id: "p-1", now: Self.now)
        #expect(policy.state == .enabledForReportingButNotEnforced)
        #expect(policy.servicePrincipalRiskLevels == [.high])
        let json = policy.json
        #expect(json.objectValue?["state"] == "enabledForReportingButNotEnforced")
        let again = try ConditionalAccessPolicy.parse(json.objectValue!, id: "p-1", now: Self.now)
        #expect(again == policy)
        var graphState = body
        graphState["state"] = "enabledForReportingButNotEnforced"
        #expect(try ConditionalAccessPolicy.parse(graphState, id: "p-2", now: Self.now).state == .enabledForReportingButNotEnforced)
    }

    @Test(arguments: [
        (["state": "on"], "state"), (["grantControls": ["operator": "OR", "builtInControls": ["mfa"]]], "grantControls"),
        (["conditions": ["users": ["includeUsers": ["All"]], "clientApplications": ["includeServicePrincipals": ["All"]]]], "conditions"),
        (["conditions": ["clientApplications": ["includeServicePrincipals": "All"]]], "conditions.clientApplications.includeServicePrincipals"),
        (["conditions": ["clientApplications": ["includeServicePrincipals": ["All"]], "servicePrincipalRiskLevels": ["none"]]], "conditions.servicePrincipalRiskLevels"),
        (["conditions": ["applications": ["includeApplications": ["app-1"]], "clientApplications": ["includeServicePrincipals": ["All"]]]], "conditions.applications"),
        (["conditions": ["locations": ["includeLocations": ["All"]]]], "conditions.clientApplications"),
    ] as [([String: JSONValue], String)])
    func badPolicyBodiesNameTheField(_ change: [String: JSONValue], _ field: String) {
        var body: [String: JSONValue] = [
            "displayName": "p", "state": "enabled", "conditions": ["clientApplications": ["includeServicePrincipals": ["All"]]],
            "grantControls": ["operator": "OR", "builtInControls": ["block"]],
        ]
        body.merge(change) { _, new in new }
        #expect(throws: DirectoryRuleViolation.self) { try ConditionalAccessPolicy.parse(body, id: "p", now: Self.now) }
        do {
            _ = try ConditionalAccessPolicy.parse(body, id: "p", now: Self.now)
        } catch {
            #expect(error.field == field, "\(error.message)")
        }
    }

    @Test func signInsKeepOneCharacterPerPolicyAndExpandThroughTheSnapshot() {
        let policies = [Self.policy("a"), Self.policy("b", state: .enabledForReportingButNotEnforced), Self.policy("c", state: .disabled)]
        let set = ConditionalAccessPolicySet(policies: policies, locations: locations)
        let results = SignInPolicyResults(set.evaluate(servicePrincipalId: "sp", address: "203.0.113.1", risk: .none), snapshot: set.snapshot)
        #expect(results?.codes.count == 3)
        #expect(results?.policySetId == set.snapshot.id)
        let applied = PolicySetSnapshot.applied(snapshotJSON: set.snapshot.json, codes: results?.codes ?? "")
        #expect(applied.map(\.id) == ["a", "b", "c"])
        #expect(applied.map(\.result) == [.failure, .reportOnlyFailure, .notEnabled])
        #expect(SignInPolicyResults([], snapshot: ConditionalAccessPolicySet.empty.snapshot) == nil, "no policies, nothing recorded")
        #expect(PolicySetSnapshot(policies: policies) == set.snapshot, "the same list has the same id on every replica")
        #expect(PolicySetSnapshot(policies: Array(policies.reversed())).id != set.snapshot.id)
    }

    @Test func impactReplaysGroupsAsIfTheDraftWereEnabled() {
        let draft = Self.policy("draft", state: .disabled, locations: .init(include: ["All"], exclude: ["AllTrusted"]))
        let groups = [
            ImpactAnalysis.Group(servicePrincipalId: "sp-1", appId: "a1", appDisplayName: "billing", ipAddress: "10.1.1.1", signIns: 5, lastSignIn: Self.now),
            ImpactAnalysis.Group(servicePrincipalId: "sp-1", appId: "a1", appDisplayName: "billing", ipAddress: "203.0.113.1", signIns: 3, lastSignIn: Self.now),
            ImpactAnalysis.Group(servicePrincipalId: "sp-2", appId: "a2", appDisplayName: "orders", ipAddress: "::ffff:203.0.113.1", signIns: 2, lastSignIn: Self.now),
        ]
        let blocked = ImpactAnalysis.blocked(groups, draft: draft, locations: locations, risks: [:])
        #expect(blocked.map(\.signIns) == [3, 2])
        let risky = Self.policy("draft", risks: [.high])
        #expect(ImpactAnalysis.blocked(groups, draft: risky, locations: locations, risks: ["sp-2": .high]).map(\.servicePrincipalId) == ["sp-2"])
    }
}
