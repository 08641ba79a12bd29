import Crypto
import Foundation
import Logging
import SigilCore
@testable import SigilStore
import Testing
import X509

/// App management policies through the admin API on a real server (SQLite, and PostgreSQL when
/// SIGIL_TEST_POSTGRES_URL is set): a new tenant is secretless, refusals name the policy and the
/// restriction and change nothing, bad policies are refused whole, an app's own policy replaces
/// the default, and an upgraded store keeps its behaviour.
@Suite struct AppPolicyEnforcementTests {
    static let defaultPath = "policies/defaultAppManagementPolicy"
    static let noRestrictions: JSONValue = ["passwordCredentials": [], "keyCredentials": []]

    /// What must not change when a request is refused: the app with its credentials, both kinds of policy, the audit log.
    func snapshot(_ server: TestServer, app: String) async throws -> [JSONValue] {
        [
            try await server.admin("GET", "applications/\(app)").json, try await server.admin("GET", Self.defaultPath).json,
            try await server.admin("GET", "policies/appManagementPolicies").json, try await server.admin("GET", "auditLogs").json,
        ]
    }

    func error(_ reply: TestServer.Reply) -> (code: String?, message: String, target: String?) {
        (reply.json["error"]?["code"]?.stringValue, reply.json["error"]?["message"]?.stringValue ?? "", reply.json["error"]?["target"]?.stringValue)
    }

    @Test func aNewTenantRefusesSecretsUntilAnAdministratorOptsOutOnTheRecord() async throws {
        try await TestServer.with(allowSecrets: false) { server in
            try await server.createApp("worker")
            let before = try await snapshot(server, app: "worker")
            let refused = try await server.admin("POST", "applications/worker/passwordCredentials", json: ["lifetime": "P30D"])
            #expect(refused.status == 400)
            let (code, message, target) = error(refused)
            #expect(code == "CredentialPolicyViolation" && target == "passwordAddition")
            #expect(message.hasPrefix("Policy 'Default app management policy' (restriction passwordAddition) does not allow client secrets"), "\(message)")
            #expect(try await snapshot(server, app: "worker") == before, "a refusal changes nothing")

            // Keys and certificates are what the policy steers towards.
            let key = try SigningKey.generate(for: .es256)
            _ = try await server.addKey("worker", ["type": "Jwk", "key": .object(key.publicKey.jwkMembers)])
            _ = try await server.addKey("worker", ["type": "AsymmetricX509Cert", "key": .string(try Assertions.certificate(for: key).pem)])

            let shown = try await server.admin("GET", Self.defaultPath).json
            #expect(shown["id"] == "00000000-0000-0000-0000-000000000000" && shown["isEnabled"] == true)
            #expect(shown["applicationRestrictions"]?["passwordCredentials"]?.arrayValue?.first?["restrictionType"] == "passwordAddition")

            let allowed = try await server.admin("PATCH", Self.defaultPath, json: ["applicationRestrictions": Self.noRestrictions])
            #expect(allowed.status == 200, "\(allowed.json)")
            _ = try await server.addSecret("worker")
            let audit = try await server.admin("GET", "auditLogs").json["value"]?.arrayValue ?? []
            let optOut = try #require(audit.first { $0["activityDisplayName"] == "defaultAppManagementPolicy.allowSecrets" })
            #expect(optOut["before"]?["applicationRestrictions"]?["passwordCredentials"]?.arrayValue?.count == 1)
            #expect(optOut["after"]?["applicationRestrictions"]?["passwordCredentials"] == [])

            let blocked = try await server.admin("PATCH", Self.defaultPath, json: [
                "applicationRestrictions": ["passwordCredentials": [["restrictionType": "passwordAddition"]]],
            ])
            #expect(blocked.status == 200)
            let actions = (try await server.admin("GET", "auditLogs?top=1").json["value"]?.arrayValue ?? []).compactMap { $0["activityDisplayName"]?.stringValue }
            #expect(actions == ["defaultAppManagementPolicy.blockSecrets"])
        }
    }

    @Test func badPoliciesAreRefusedWholeAndChangeNothing() async throws {
        try await TestServer.with { server in
            try await server.createApp("worker")
            let notCA = try Assertions.certificate(for: try SigningKey.generate(for: .es256)).pem
            let cases: [(JSONValue, String)] = [
                (["passwordCredentials": [["restrictionType": "passwordLifetime", "maxLifetime": "P0D"]]], "must be longer than zero"),
                (["passwordCredentials": [["restrictionType": "passwordLifetime", "maxLifetime": "P-1D"]]], "is not an ISO-8601 duration"),
                (["keyCredentials": [["restrictionType": "asymmetricKeyLifetime", "maxLifetime": "PT"]]], "is not an ISO-8601 duration"),
                (["passwordCredentials": [["restrictionType": "passwordAddition"], ["restrictionType": "passwordAddition"]]], "listed twice"),
                (["passwordCredentials": [["restrictionType": "noSecretsEver"]]], "unknown restriction 'noSecretsEver'"),
                (["passwordCredentials": [["restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": "1900-01-01T00:00:00Z"]]], "before 1970"),
                (["passwordCredentials": [["restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": "+10000-01-01T00:00:00Z"]]], "from 1970 to 9999"),
                (["keyCredentials": [["restrictionType": "trustedCertificateAuthority", "trustedCertificateAuthorities": [.string(notCA)]]]], "is not a CA certificate"),
            ]
            let before = try await snapshot(server, app: "worker")
            for (restrictions, says) in cases {
                // The last entry is valid: a refusal of an earlier one must not apply it.
                var entries = restrictions.objectValue ?? [:]
                entries["keyCredentials"] = entries["keyCredentials"] ?? [["restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P1D"]]
                for (method, path, field) in [
                    ("PATCH", Self.defaultPath, "applicationRestrictions"), ("POST", "policies/appManagementPolicies", "restrictions"),
                ] {
                    let reply = try await server.admin(method, path, json: ["displayName": "strict", field: .object(entries)])
                    #expect(reply.status == 400, "\(says): \(reply.json)")
                    #expect(error(reply).message.contains(says), "\(error(reply).message)")
                    #expect(error(reply).target?.hasPrefix(field) == true)
                }
            }
            let unknownField = try await server.admin("PATCH", Self.defaultPath, json: ["restrictions": Self.noRestrictions])
            #expect(unknownField.status == 400 && error(unknownField).target == "restrictions")
            #expect(try await snapshot(server, app: "worker") == before)
        }
    }

    @Test func refusalsSayWhatIsAllowedAndAnAppsOwnPolicyReplacesTheDefault() async throws {
        try await TestServer.with(allowSecrets: false) { server in
            try await server.createApp("legacy")
            try await server.createApp("modern")
            let created = try await server.admin("POST", "policies/appManagementPolicies", json: [
                "displayName": "Legacy secrets", "restrictions": ["passwordCredentials": [["restrictionType": "passwordLifetime", "maxLifetime": "P90D"]]],
            ])
            #expect(created.status == 201, "\(created.json)")
            #expect(created.json["restrictions"]?["passwordCredentials"]?.arrayValue?.first?["maxLifetime"] == "P90D")
            let assigned = try await server.admin("PUT", "applications/legacy/appManagementPolicy", json: ["id": "Legacy secrets"])
            #expect(assigned.status == 200, "\(assigned.json)")

            // The app's own policy has no passwordAddition: it does not inherit the default's.
            let before = try await snapshot(server, app: "legacy")
            let tooLong = try await server.admin("POST", "applications/legacy/passwordCredentials", json: ["lifetime": "P365D"])
            #expect(tooLong.status == 400)
            #expect(error(tooLong).message
                == "Policy 'Legacy secrets' (restriction passwordLifetime) allows client secrets to last at most P90D; you asked for P365D. Ask for P90D or less.")
            #expect(try await snapshot(server, app: "legacy") == before)
            let defaulted = try await server.admin("POST", "applications/legacy/passwordCredentials", json: [:])
            #expect(error(defaulted).message.contains("you asked for P180D (the default)"))
            _ = try await server.addSecret("legacy", lifetime: "P90D")
            // Every other app still follows the default.
            let other = try await server.admin("POST", "applications/modern/passwordCredentials", json: ["lifetime": "P1D"])
            #expect(error(other).target == "passwordAddition")
            #expect(try await server.admin("GET", "applications/legacy/appManagementPolicy").json["displayName"] == "Legacy secrets")
            #expect(try await server.admin("GET", "applications/modern/appManagementPolicy").json["applicationRestrictions"] != nil)

            // An assigned policy cannot be deleted; unassigned, the default applies again.
            let held = try await server.admin("DELETE", "policies/appManagementPolicies/Legacy%20secrets")
            #expect(held.status == 409 && error(held).message.contains("assigned to legacy"))
            #expect(try await server.admin("DELETE", "applications/legacy/appManagementPolicy").status == 204)
            #expect(try await server.admin("DELETE", "applications/legacy/appManagementPolicy").status == 404)
            #expect(error(try await server.admin("POST", "applications/legacy/passwordCredentials", json: ["lifetime": "P1D"])).target == "passwordAddition")
            #expect(try await server.admin("DELETE", "policies/appManagementPolicies/Legacy%20secrets").status == 204)
        }
    }

    @Test func chosenSecretsAreCheckedNeverEchoedAndRefusedWhenThePolicySaysSo() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let chosen = SigilSecretFormat.generate(.clientSecret)
            let added = try await server.admin("POST", "applications/billing/passwordCredentials", json: ["secretText": .string(chosen), "lifetime": "P1D"])
            #expect(added.status == 201, "\(added.json)")
            #expect(added.json["secretText"] == nil && !String(decoding: added.body, as: UTF8.self).contains(chosen))
            let token = try await server.token([
                ("grant_type", "client_credentials"), ("client_id", world.clientId), ("client_secret", chosen), ("scope", "api://orders/.default"),
            ])
            #expect(token.status == 200, "\(token.json)")
            let weak = try await server.admin("POST", "applications/billing/passwordCredentials", json: ["secretText": "correct horse battery staple"])
            #expect(weak.status == 400 && error(weak).target == "secretText" && !error(weak).message.contains("horse"))

            let strict = try await server.admin("PATCH", Self.defaultPath, json: [
                "applicationRestrictions": ["passwordCredentials": [["restrictionType": "customPasswordAddition"]]],
            ])
            #expect(strict.status == 200)
            let before = try await snapshot(server, app: "billing")
            let refused = try await server.admin("POST", "applications/billing/passwordCredentials", json: ["secretText": .string(SigilSecretFormat.generate(.clientSecret))])
            #expect(error(refused).code == "CredentialPolicyViolation" && error(refused).target == "customPasswordAddition")
            #expect(try await snapshot(server, app: "billing") == before)
            _ = try await server.addSecret("billing")  // generated ones stay allowed
            let raw = String(decoding: try await server.admin("GET", "auditLogs").body, as: UTF8.self)
            #expect(!raw.contains(chosen))
        }
    }

    @Test func keysFollowLifetimeAndTrustedCARestrictions() async throws {
        try await TestServer.with { server in
            try await server.createApp("signer")
            let caKey = P256.Signing.PrivateKey()
            let caName = try DistinguishedName { CommonName("Sigil Test Issuing CA") }
            let ca = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: Date().addingTimeInterval(-3600),
                notValidAfter: Date().addingTimeInterval(86_400 * 365), issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0)) }, issuerPrivateKey: .init(caKey))
            func issued(days: Double) throws -> String {
                let key = P256.Signing.PrivateKey()
                let start = Date().addingTimeInterval(-60)
                return try Certificate(
                    version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: start,
                    notValidAfter: start.addingTimeInterval(days * 86_400), issuer: caName, subject: try DistinguishedName { CommonName("signer") },
                    signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(), issuerPrivateKey: .init(caKey)).serializeAsPEM().pemString
            }
            let patched = try await server.admin("PATCH", Self.defaultPath, json: [
                "applicationRestrictions": [
                    "keyCredentials": [
                        ["restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P90D"],
                        ["restrictionType": "trustedCertificateAuthority", "trustedCertificateAuthorities": [.string(try ca.serializeAsPEM().pemString)]],
                    ],
                ],
            ])
            #expect(patched.status == 200, "\(patched.json)")
            let before = try await snapshot(server, app: "signer")
            let selfSigned = try Assertions.certificate(for: try SigningKey.generate(for: .es256)).pem
            let cases: [(JSONValue, String, String)] = [
                (["type": "AsymmetricX509Cert", "key": .string(selfSigned)], "trustedCertificateAuthority", "issued by 'CN=Sigil Test Issuing CA'"),
                (["type": "AsymmetricX509Cert", "key": .string(try issued(days: 365))], "asymmetricKeyLifetime", "at most P90D; this one lasts P365D"),
                (["type": "Jwk", "key": .object(try SigningKey.generate(for: .es256).publicKey.jwkMembers)], "asymmetricKeyLifetime", "has no end date"),
            ]
            for (body, restriction, says) in cases {
                let reply = try await server.admin("POST", "applications/signer/keyCredentials", json: body)
                #expect(reply.status == 400 && error(reply).target == restriction, "\(reply.json)")
                #expect(error(reply).message.contains(says), "\(error(reply).message)")
            }
            #expect(try await snapshot(server, app: "signer") == before)
            _ = try await server.addKey("signer", ["type": "AsymmetricX509Cert", "key": .string(try issued(days: 30))])
        }
    }

    @Test func existingCredentialsKeepWorkingAndTheReportListsThem() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            #expect(try await server.admin("GET", "policies/appManagementPolicyReport").json["value"] == [])
            let tightened = try await server.admin("PATCH", Self.defaultPath, json: [
                "applicationRestrictions": ["passwordCredentials": [["restrictionType": "passwordAddition"], ["restrictionType": "passwordLifetime", "maxLifetime": "P7D"]]],
            ])
            #expect(tightened.status == 200)
            #expect(try await server.token(world.secretForm).status == 200, "an existing secret keeps working")
            let rows = try #require(try await server.admin("GET", "policies/appManagementPolicyReport").json["value"]?.arrayValue)
            let forSecret = rows.filter { $0["keyId"]?.stringValue == world.secretKeyId }
            #expect(Set(forSecret.compactMap { $0["restrictionType"]?.stringValue }) == ["passwordAddition", "passwordLifetime"])
            #expect(forSecret.allSatisfy { $0["appDisplayName"] == "billing" && $0["policyDisplayName"] == "Default app management policy" })
            #expect(rows.count == forSecret.count, "keys break no password restriction: \(rows)")
        }
    }

    /// A store from before migration 8 with a tenant in it: the tenant's default restricts nothing.
    @Test func anUpgradedTenantKeepsItsBehaviour() async throws {
        try await TestStore.withFreshLocation { location, _ in
            let old = try await Store.open(location, logger: TestStore.quietLogger, migratingThrough: 7)
            let tenant = Tenant(id: UUID().uuidString.lowercased(), displayName: "Old tenant", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
            #expect(try await old.createDefaultTenant(tenant) { _ in })
            await old.close()

            let upgraded = try await Store.open(location, logger: TestStore.quietLogger)
            let policy = try #require(try await upgraded.defaultAppManagementPolicy(tenantId: tenant.id))
            await upgraded.close()
            #expect(policy.isEnabled && policy.restrictions.isEmpty && !policy.blocksSecrets)
            #expect(CredentialPolicyCheck.violations(
                of: .password(lifetime: 86_400 * 365, requested: "P365D", custom: true), appCreatedAt: Date(), policy: policy).isEmpty)
        }
    }
}
