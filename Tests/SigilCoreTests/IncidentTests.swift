import Foundation
import Testing

@testable import SigilCore

/// The rules of incident response without I/O: which tokens a containment revokes, which vault
/// secrets a principal could read, and how a timeline is put together from the logs.
@Suite struct IncidentCoreTests {
    @Test func aRevocationCoversTokensIssuedUpToItsSecondAndLeavesTheListWhenTheyHaveExpired() {
        let contained = Date(timeIntervalSince1970: 1_800_000_000.75)
        let revocation = TokenRevocation(servicePrincipalId: "sp", appId: "app", revokedBefore: contained)
        #expect(revocation.revokes(issuedAt: 1_799_996_400))
        #expect(revocation.revokes(issuedAt: 1_800_000_000), "the containment's own second errs on refusing")
        #expect(!revocation.revokes(issuedAt: 1_800_000_001))
        #expect(revocation.expiresAt == contained.addingTimeInterval(AccessToken.lifetime + TokenRevocation.clockSkew))
    }

    @Test func aPrincipalCouldReadWhatItsGetGrantsCoverAndNothingElse() {
        let secrets = [("v1", "ops", "db"), ("v1", "ops", "api-key"), ("v2", "other", "root")].map { (vaultId: $0.0, vault: $0.1, name: $0.2) }
        func readable(_ grants: [(Set<AdminPermission>, RoleScope)]) -> [String] {
            ExposedSecret.readable(secrets, grants: RoleGrants(grants.map { (permissions: $0.0, scope: $0.1) })).map { "\($0.vault)/\($0.name)" }
        }
        #expect(readable([]) == [])
        #expect(readable([([.vaultSecretsGet], .tenant)]) == ["ops/db", "ops/api-key", "other/root"])
        #expect(readable([([.vaultSecretsGet], .vault(id: "v1"))]) == ["ops/db", "ops/api-key"])
        #expect(readable([([.vaultSecretsGet], .vaultSecret(vaultId: "v1", name: "db"))]) == ["ops/db"])
        #expect(readable([([.vaultSecretsSet, .vaultsRead], .tenant)]) == [], "only reading a value counts")
        #expect(readable([([.vaultSecretsGet], .application(objectId: "v1"))]) == [])
    }

    static func signIn(_ seconds: TimeInterval, resource: String, ip: String, agent: String?, ok: Bool) -> SignInEvent {
        SignInEvent(
            id: "s\(Int(seconds))", time: Date(timeIntervalSince1970: seconds), tenantId: "t", appId: "app", appDisplayName: "billing",
            servicePrincipalId: "sp", credentialType: .clientSecret, credentialId: "key-1", ipAddress: ip, userAgent: agent, resource: resource,
            resourceId: nil, succeeded: ok, errorCode: ok ? nil : 7000215, failureReason: nil, correlationId: "c")
    }

    static func audit(_ seconds: TimeInterval, actor: String, action: String, target: String, after: JSONValue? = nil) -> AuditEvent {
        AuditEvent(
            id: "a\(Int(seconds))", time: Date(timeIntervalSince1970: seconds), tenantId: "t", actorId: actor, actorName: actor == "sp" ? "billing" : "admin",
            action: action, targetType: "x", targetId: target, after: after, ipAddress: "10.0.0.9", succeeded: true, correlationId: "c")
    }

    @Test func theTimelineOrdersSignInsActionsAndChangesAndCountsWhereFrom() {
        let signIns = [
            Self.signIn(30, resource: "api://orders", ip: "203.0.113.7", agent: "stolen/1.0", ok: false),
            Self.signIn(20, resource: "api://orders", ip: "10.0.0.1", agent: "msal", ok: true),
            Self.signIn(10, resource: "https://vault.localhost", ip: "10.0.0.1", agent: "msal", ok: true),
        ]
        let audits = [
            Self.audit(25, actor: "sp", action: "vault.secret.get", target: "ops/db"),
            Self.audit(15, actor: "admin-sp", action: "application.passwordCredential.add", target: "object-id", after: ["keyId": "key-2"]),
            // The principal changing itself is a change, not an action.
            Self.audit(5, actor: "sp", action: "application.update", target: "object-id"),
        ]
        let timeline = IncidentTimeline(
            servicePrincipalId: "sp", targetIds: ["object-id", "sp"], signIns: signIns, audits: audits, since: .distantPast, until: .distantFuture, limit: 10)
        #expect(timeline.entries.map(\.id) == ["a5", "s10", "a15", "s20", "a25", "s30"])
        #expect(timeline.entries.map(\.kind) == [.change, .signIn, .change, .signIn, .action, .signIn])
        #expect(timeline.entries[2].credentialId == "key-2" && timeline.entries[2].actor == "admin")
        #expect(timeline.entries[5].detail == "AADSTS7000215" && !timeline.entries[5].succeeded)
        #expect(!timeline.truncated)
        #expect(timeline.resources.map(\.value) == ["api://orders", "https://vault.localhost"])
        #expect(timeline.resources[0].signIns == 2 && timeline.resources[0].failures == 1)
        #expect(timeline.ipAddresses.map(\.value) == ["10.0.0.1", "203.0.113.7"])
        #expect(timeline.ipAddresses[0].first == Date(timeIntervalSince1970: 10) && timeline.ipAddresses[0].last == Date(timeIntervalSince1970: 20))
        #expect(timeline.userAgents.first { $0.value == "stolen/1.0" }?.failures == 1)
        let cut = IncidentTimeline(
            servicePrincipalId: "sp", targetIds: ["object-id"], signIns: signIns, audits: [], since: .distantPast, until: .distantFuture, limit: 3)
        #expect(cut.truncated)
    }
}
