import SigilCore
import Testing

/// How the agent chooses an identity: selectors for IMDS and App Service, rules for the socket.
@Suite struct IdentitySelectorTests {
    static let system = AssignedIdentity(appId: "SYS-APP", objectId: "sys-obj", displayName: "host", resourceId: "/tenants/t/hosts/h")
    static let orders = AssignedIdentity(appId: "orders-app", objectId: "orders-obj", displayName: "orders", resourceId: "/tenants/t/userAssignedIdentities/orders")
    static let billing = AssignedIdentity(appId: "billing-app", objectId: "billing-obj", displayName: "billing", resourceId: "/tenants/t/userAssignedIdentities/billing")

    func configuration(rules: [HostRule] = []) -> HostConfiguration {
        HostConfiguration(
            hostId: "h", hostName: "web-1", tenantId: "t", tokenEndpoint: "https://s/t/oauth2/v2.0/token", systemAssignedIdentity: Self.system,
            userAssignedIdentities: [Self.orders, Self.billing], rules: rules)
    }

    let imds = ["client_id", "object_id", "msi_res_id"]

    @Test func noSelectorIsTheSystemIdentityAndEachSelectorNamesItsIdentity() throws {
        let config = configuration()
        #expect(try config.identity(selectedBy: IdentitySelector.parse([:], accepted: imds)) == Self.system)
        #expect(try config.identity(selectedBy: IdentitySelector.parse(["client_id": "ORDERS-APP"], accepted: imds)) == Self.orders)
        #expect(try config.identity(selectedBy: IdentitySelector.parse(["object_id": "billing-obj"], accepted: imds)) == Self.billing)
        #expect(try config.identity(selectedBy: IdentitySelector.parse(["msi_res_id": Self.orders.resourceId], accepted: imds)) == Self.orders)
        #expect(try config.identity(selectedBy: .objectId("orders-obj")) == Self.orders)
    }

    @Test func anUnknownSelectorIsRefusedNotAnsweredWithTheSystemIdentity() {
        #expect(throws: IdentitySelectionError.self) { try configuration().identity(selectedBy: .clientId("someone-else")) }
        do {
            _ = try configuration().identity(selectedBy: .resourceId("/tenants/t/userAssignedIdentities/none"))
        } catch {
            #expect(error.reason == .notAssigned)
            #expect(error.mayBeStale)
        }
    }

    @Test func twoSelectorsOrAForeignOneAreRefused() {
        #expect(throws: IdentitySelectionError.self) { try IdentitySelector.parse(["client_id": "a", "object_id": "b"], accepted: imds) }
        #expect(throws: IdentitySelectionError.self) { try IdentitySelector.parse(["mi_res_id": "x"], accepted: imds) }
        #expect(throws: IdentitySelectionError.self) { try IdentitySelector.parse(["principal_id": "x"], accepted: ["client_id"]) }
    }

    @Test func socketCallersGetTheIdentityTheirRulesGrant() throws {
        let rules = [
            try HostRule(id: "1", identityAppId: "orders-app", selectors: [.uid(1000)]),
            try HostRule(id: "2", identityAppId: "billing-app", selectors: [.gid(1000), .path("/usr/bin/billing")]),
            try HostRule(id: "3", identityAppId: "unassigned-app", selectors: [.uid(1001)]),
        ]
        let config = configuration(rules: rules)
        let orders = CallerProcess(uid: 1000, gid: 1000, pid: 7, path: "/usr/bin/orders", sha256: String(repeating: "a", count: 64))
        #expect(try config.identity(for: orders, selectedBy: nil) == Self.orders)
        // Both rules match: the caller must choose, and only among what it is granted.
        let both = CallerProcess(uid: 1000, gid: 1000, pid: 8, path: "/usr/bin/billing", sha256: String(repeating: "b", count: 64))
        #expect(throws: IdentitySelectionError(.ambiguous, "the caller may hold several identities (orders-app, billing-app); choose one with client_id")) {
            try config.identity(for: both, selectedBy: nil)
        }
        #expect(try config.identity(for: both, selectedBy: .clientId("billing-app")) == Self.billing)
        #expect(throws: IdentitySelectionError.self) { try config.identity(for: orders, selectedBy: .clientId("billing-app")) }
        // A rule for an identity no longer assigned to the host grants nothing; neither does no rule.
        let stranger = CallerProcess(uid: 1001, gid: 1001, pid: 9, path: "/usr/bin/x", sha256: String(repeating: "c", count: 64))
        do {
            _ = try config.identity(for: stranger, selectedBy: nil)
            Issue.record("a caller without a rule was answered")
        } catch {
            #expect(error.reason == .noMatchingRule)
            #expect(error.description.contains("uid 1001, gid 1001, pid 9, path /usr/bin/x"))
        }
    }

    @Test func configurationReadsBackAsTheServerWroteIt() throws {
        let config = configuration(rules: [
            try HostRule(id: "1", identityAppId: "orders-app", selectors: [.uid(1000)]),
            try HostRule(id: "2", identityAppId: "billing-app", selectors: [.uid(1002), .sha256(String(repeating: "d", count: 64))]),
        ])
        #expect(try HostConfiguration(json: config.json) == config)
        #expect(try HostConfiguration(json: config.json).keyRotationSeconds == 86_400)
        var broken = config.json.objectValue!
        broken["rules"] = [["id": "x", "identity": "orders-app", "sha256": .string(String(repeating: "d", count: 64))]]
        #expect(throws: HostConfigurationError.self) { try HostConfiguration(json: .object(broken)) }
    }

    @Test func rulesCombineSelectorsAndAnExecutableAloneIsRefused() throws {
        let rule = try HostRule(id: "1", identityAppId: "a", selectors: [.path("/usr/bin/my app"), .uid(7)])
        #expect(rule.selectorText == "uid=7 path=/usr/bin/my app")
        #expect(try HostRule(id: "1", identityAppId: "a", selectorText: rule.selectorText) == rule)
        let caller = CallerProcess(uid: 7, gid: 7, pid: 1, path: "/usr/bin/my app", sha256: String(repeating: "e", count: 64))
        #expect(rule.matches(caller))
        var other = caller
        other.uid = 8
        #expect(!rule.matches(other), "every selector must match")
        #expect(throws: DirectoryRuleViolation.self) { try HostRule(id: "1", identityAppId: "a", selectors: [.path("/usr/bin/x")]) }
        #expect(throws: DirectoryRuleViolation.self) { try HostRule(id: "1", identityAppId: "a", selectors: [.sha256(caller.sha256)]) }
        #expect(throws: DirectoryRuleViolation.self) { try HostRule(id: "1", identityAppId: "a", selectors: [.uid(1), .uid(2)]) }
        #expect(throws: DirectoryRuleViolation.self) { try HostRule(id: "1", identityAppId: "a", selectors: []) }
    }

    @Test func theExecutableIsHashedOnlyWhenARuleForTheUserLooksAtTheHash() throws {
        let digest = String(repeating: "f", count: 64)
        let rules = [
            try HostRule(id: "1", identityAppId: "a", selectors: [.uid(1000)]),
            try HostRule(id: "2", identityAppId: "b", selectors: [.uid(1001), .sha256(digest)]),
            try HostRule(id: "3", identityAppId: "c", selectors: [.gid(50), .uid(1002), .sha256(digest)]),
        ]
        #expect(!HostRule.needsDigest(uid: 1000, gid: 1000, under: rules))
        #expect(HostRule.needsDigest(uid: 1001, gid: 7, under: rules))
        #expect(!HostRule.needsDigest(uid: 1002, gid: 7, under: rules), "every id selector must match")
        #expect(HostRule.needsDigest(uid: 1002, gid: 50, under: rules))
        #expect(!HostRule.needsDigest(uid: 4242, gid: 4242, under: rules), "a stranger costs no hashing")
    }

    @Test func anIdentityHandedOutByRulesIsServedOnTheSocketOnly() throws {
        let config = configuration(rules: [try HostRule(id: "1", identityAppId: "orders-app", selectors: [.uid(1000)])])
        do {
            _ = try config.identity(selectedBy: .clientId("orders-app"))
            Issue.record("IMDS handed out an identity its rules reserve for chosen processes")
        } catch {
            #expect(error.reason == .socketOnly)
        }
        #expect(try config.identity(selectedBy: .clientId("billing-app")) == Self.billing)
    }

    @Test func callerContinuity() {
        #expect(CallerContinuity.isSameProcess(startTicksBefore: 10, startTicksAfter: 10, acceptedAtTicks: 10, exitedDuringReads: false))
        #expect(!CallerContinuity.isSameProcess(startTicksBefore: 11, startTicksAfter: 11, acceptedAtTicks: 10, exitedDuringReads: false))
        #expect(!CallerContinuity.isSameProcess(startTicksBefore: 5, startTicksAfter: 9, acceptedAtTicks: 10, exitedDuringReads: false))
        #expect(!CallerContinuity.isSameProcess(startTicksBefore: 5, startTicksAfter: 5, acceptedAtTicks: 10, exitedDuringReads: true))
        #expect(!CallerContinuity.isSameProcess(startTicksBefore: nil, startTicksAfter: 5, acceptedAtTicks: 10, exitedDuringReads: false))
    }
}
