import Foundation
import SigilCore
import Testing

/// Managed identities through the server's side of the agent protocol, driven as the agent
/// drives it: enrollment with a one-time join token, tokens for the system-assigned and
/// user-assigned identities signed with the host's key, key rotation, removal and unassignment
/// taking effect at once, and a managed identity standing in for an app's secret.
@Suite struct ManagedIdentityTests {
    /// What the agent holds after enrolling.
    struct Agent {
        let server: TestServer
        var key: SigningKey
        let kid: String
        let systemAppId: String
        let hostId: String

        func assertion(for clientId: String, extra: [String: JSONValue] = [:], key: SigningKey? = nil, kid: String? = nil) throws -> String {
            var claims = Assertions.claims(clientId: clientId, audience: server.tokenEndpoint)
            claims.merge(extra) { _, new in new }
            let signer = key ?? self.key
            return try Assertions.sign(claims: claims, key: signer, header: ["kid": .string(kid ?? signer.publicKey.thumbprint)])
        }

        func token(for clientId: String, resource: String = "api://orders", extra: [String: JSONValue] = [:]) async throws -> TestServer.Reply {
            try await server.token([
                ("grant_type", "client_credentials"), ("client_id", clientId), ("scope", resource + "/.default"),
                ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", try assertion(for: clientId, extra: extra)),
            ])
        }

        /// `Authorization: SigilHost …` for the agent API.
        func hostAuthorization(extra: [String: JSONValue] = [:]) throws -> (String, String) {
            var claims = Assertions.claims(clientId: systemAppId, audience: server.baseURL + "/agent/v1")
            claims.merge(extra) { _, new in new }
            return ("Authorization", "SigilHost " + (try Assertions.sign(claims: claims, key: key, header: ["kid": .string(kid)])))
        }
    }

    static func createHost(_ server: TestServer, _ name: String, ttl: String = "PT10M") async throws -> JSONValue {
        let reply = try await server.admin("POST", "hosts", json: ["name": .string(name), "joinTokenLifetime": .string(ttl)])
        guard reply.status == 201 else { throw TestFailure("create host: \(reply.status) \(reply.json)") }
        return reply.json
    }

    static func enroll(_ server: TestServer, token: String, key: SigningKey = .p256(.init())) async throws -> (TestServer.Reply, SigningKey) {
        var jwk = key.publicKey.jwkMembers
        jwk["kid"] = .string(key.publicKey.thumbprint)
        let body: JSONValue = ["joinToken": .string(token), "publicKey": .object(jwk), "hostname": "web-1.internal"]
        return (try await server.send("POST", "/agent/v1/enroll", body: Data(body.serialized().utf8), headers: [("Content-Type", "application/json")]), key)
    }

    static func enrolledAgent(_ server: TestServer, host name: String = "web-1") async throws -> Agent {
        let host = try await createHost(server, name)
        let (reply, key) = try await enroll(server, token: host["joinToken"]!.stringValue!)
        guard reply.status == 201 else { throw TestFailure("enroll: \(reply.status) \(reply.json)") }
        return Agent(
            server: server, key: key, kid: reply.json["kid"]!.stringValue!, systemAppId: reply.json["systemAssignedIdentity"]!["appId"]!.stringValue!,
            hostId: reply.json["hostId"]!.stringValue!)
    }

    static func withWorld(_ body: (TestServer, Agent, JSONValue) async throws -> Void) async throws {
        try await TestServer.with { server in
            _ = try await server.createApp("orders", identifierUri: "api://orders", roleRequired: true)
            let agent = try await enrolledAgent(server)
            let identity = try await server.admin("POST", "managedIdentities", json: ["displayName": "billing-worker"])
            #expect(identity.status == 201, "\(identity.json)")
            let assigned = try await server.admin("POST", "hosts/web-1/identities", json: ["identity": "billing-worker"])
            #expect(assigned.status == 201, "\(assigned.json)")
            try await server.grant("billing-worker", "orders", role: "Orders.Read")
            try await server.grant(agent.systemAppId, "orders", role: "Orders.Read")
            try await body(server, agent, identity.json)
        }
    }

    @Test func aHostGetsTokensForItsOwnAndItsAssignedIdentities() async throws {
        try await Self.withWorld { server, agent, identity in
            let system = try await agent.token(for: agent.systemAppId)
            #expect(system.status == 200, "\(system.json)")
            let systemClaims = try await server.verifiedClaims(system.json["access_token"]!.stringValue!)
            #expect(systemClaims["cred_type"] == "managedIdentity")

            let user = try await agent.token(
                for: identity["appId"]!.stringValue!, extra: ["xms_caller": ["uid": 1001, "gid": 1001, "pid": 42, "path": "/usr/bin/worker", "sha256": "ab"]])
            #expect(user.status == 200, "\(user.json)")
            let claims = try await server.verifiedClaims(user.json["access_token"]!.stringValue!)
            #expect(claims["oid"]?.stringValue == identity["objectId"]?.stringValue)
            #expect(claims["roles"] == ["Orders.Read"])

            let log = try await server.admin("GET", "signInLogs?appId=\(identity["appId"]!.stringValue!)")
            let entry = log.json["value"]?.arrayValue?.first
            #expect(entry?["clientCredentialType"] == "managedIdentity")
            #expect(entry?["hostId"]?.stringValue == agent.hostId)
            #expect(entry?["callerUid"]?.integerValue == 1001)
            #expect(entry?["callerExecutable"] == "/usr/bin/worker")

            // The assertion is single-use, as every assertion signed with a key Sigil knows.
            let assertion = try agent.assertion(for: agent.systemAppId)
            let form: [(String, String)] = [
                ("grant_type", "client_credentials"), ("client_id", agent.systemAppId), ("scope", "api://orders/.default"),
                ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
            ]
            #expect(try await server.token(form).status == 200)
            #expect(try await server.token(form).json["error_codes"]?.arrayValue?.first?.integerValue == 700023)
        }
    }

    @Test func anotherHostCannotSpeakForAnIdentityNotAssignedToIt() async throws {
        try await Self.withWorld { server, _, identity in
            let other = try await Self.enrolledAgent(server, host: "web-2")
            let reply = try await other.token(for: identity["appId"]!.stringValue!)
            #expect(reply.status == 401)
            #expect(reply.json["error_codes"]?.arrayValue?.first?.integerValue == 700027)
            #expect(reply.json["error_description"]?.stringValue?.contains("no host that may vouch for managed identity 'billing-worker'") == true)
        }
    }

    @Test func removingTheHostOrUnassigningRefusesTheNextRequestAtOnce() async throws {
        try await Self.withWorld { server, agent, identity in
            let appId = identity["appId"]!.stringValue!
            #expect(try await agent.token(for: appId).status == 200)
            #expect(try await server.admin("DELETE", "hosts/web-1/identities/billing-worker").status == 204)
            #expect(try await agent.token(for: appId).status == 401)
            #expect(try await agent.token(for: agent.systemAppId).status == 200)
            #expect(try await server.admin("DELETE", "hosts/web-1").status == 204)
            let removed = try await agent.token(for: agent.systemAppId)
            #expect(removed.status == 400)
            #expect(removed.json["error_codes"]?.arrayValue?.first?.integerValue == 700016)
            let config = try await server.send("GET", "/agent/v1/config", headers: [try agent.hostAuthorization()])
            #expect(config.status == 401)
        }
    }

    @Test func joinTokensWorkOnceBeforeTheyExpire() async throws {
        try await TestServer.with { server in
            let host = try await Self.createHost(server, "db-1")
            let token = host["joinToken"]!.stringValue!
            #expect(token.hasPrefix("sgj_") && token.count == 50)
            #expect(host["appId"]?.stringValue == host["systemAssignedIdentity"]?["appId"]?.stringValue)
            #expect(try await Self.enroll(server, token: token).0.status == 201)
            let again = try await Self.enroll(server, token: token).0
            #expect(again.status == 401)
            #expect(again.json["error"]?["message"]?.stringValue?.contains("already used") == true)

            let short = try await Self.createHost(server, "db-2", ttl: "PT1S")
            try await Task.sleep(for: .milliseconds(1500))
            let expired = try await Self.enroll(server, token: short["joinToken"]!.stringValue!).0
            #expect(expired.status == 401)
            #expect(expired.json["error"]?["message"]?.stringValue?.contains("expired") == true)

            var broken = Array(token)
            broken[20] = broken[20] == "a" ? "b" : "a"
            let badChecksum = try await Self.enroll(server, token: String(broken)).0
            #expect(badChecksum.status == 400)
            #expect(badChecksum.json["error"]?["message"]?.stringValue?.contains("checksum") == true)
            let unknown = try await Self.enroll(server, token: SigilSecretFormat.generate(.joinToken)).0
            #expect(unknown.status == 401)
            // Nothing was enrolled by the refusals.
            let listed = try await server.admin("GET", "hosts")
            #expect(listed.json["value"]?.arrayValue?.filter { $0["enrolledDateTime"] != .null }.count == 1)
        }
    }

    @Test func theAgentReadsItsConfigurationAndRotatesItsKey() async throws {
        try await Self.withWorld { server, agent, identity in
            let rule = try await server.admin("POST", "hosts/web-1/rules", json: ["identity": "billing-worker", "uid": 1001])
            #expect(rule.status == 201, "\(rule.json)")
            let config = try await server.send("GET", "/agent/v1/config", headers: [try agent.hostAuthorization()])
            #expect(config.status == 200, "\(config.json)")
            #expect(config.json["userAssignedIdentities"]?.arrayValue?.first?["appId"] == identity["appId"])
            #expect(config.json["rules"]?.arrayValue?.first?["uid"]?.integerValue == 1001)

            let fresh = SigningKey.p256(.init())
            var jwk = fresh.publicKey.jwkMembers
            jwk["kid"] = .string(fresh.publicKey.thumbprint)
            let body = Data(JSONValue.object(["publicKey": .object(jwk)]).serialized().utf8)
            let unbound = try await server.send("POST", "/agent/v1/keys", body: body, headers: [("Content-Type", "application/json"), try agent.hostAuthorization()])
            #expect(unbound.status == 400, "a rotation must name the new key's thumbprint in 'jkt'")
            let rotated = try await server.send(
                "POST", "/agent/v1/keys", body: body,
                headers: [("Content-Type", "application/json"), try agent.hostAuthorization(extra: ["jkt": .string(fresh.publicKey.thumbprint)])])
            #expect(rotated.status == 201, "\(rotated.json)")
            var next = agent
            next.key = fresh
            #expect(try await next.token(for: agent.systemAppId).status == 200)
            #expect(try await agent.token(for: agent.systemAppId).status == 200, "the replaced key works through its grace period")
            // …but it cannot register another key: a copy taken before the rotation cannot take the host over.
            let stolen = SigningKey.p256(.init())
            var stolenJWK = stolen.publicKey.jwkMembers
            stolenJWK["kid"] = .string(stolen.publicKey.thumbprint)
            let takeover = try await server.send(
                "POST", "/agent/v1/keys", body: Data(JSONValue.object(["publicKey": .object(stolenJWK)]).serialized().utf8),
                headers: [("Content-Type", "application/json"), try agent.hostAuthorization(extra: ["jkt": .string(stolen.publicKey.thumbprint)])])
            #expect(takeover.status == 401, "\(takeover.json)")
            #expect(takeover.json["error"]?["message"]?.stringValue?.contains("already replaced") == true)
        }
    }

    @Test func aManagedIdentityStandsInForAnAppsSecretButAnAppTokenDoesNot() async throws {
        try await Self.withWorld { server, agent, identity in
            let exchange = try await agent.token(for: identity["appId"]!.stringValue!, resource: "api://AzureADTokenExchange")
            #expect(exchange.status == 200, "\(exchange.json)")
            _ = try await server.createApp("legacy-app")
            try await server.grant("legacy-app", "orders", role: "Orders.Read")
            let issuer = "\(server.baseURL)/\(server.tenantId)/v2.0"
            let added = try await server.admin("POST", "applications/legacy-app/federatedIdentityCredentials", json: [
                "name": "billing-worker-mi", "issuer": .string(issuer), "subject": .string(identity["objectId"]!.stringValue!),
            ])
            #expect(added.status == 201, "\(added.json)")
            let legacy = try await server.admin("GET", "applications/legacy-app").json["appId"]!.stringValue!
            func present(_ assertion: String) async throws -> TestServer.Reply {
                try await server.token([
                    ("grant_type", "client_credentials"), ("client_id", legacy), ("scope", "api://orders/.default"),
                    ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
                ])
            }
            // Another tenant's issuer on this server is never fetched or trusted.
            let otherTenant = "\(server.baseURL)/\(UUID().uuidString.lowercased())/v2.0"
            _ = try await server.admin("POST", "applications/legacy-app/federatedIdentityCredentials", json: [
                "name": "other-tenant", "issuer": .string(otherTenant), "subject": .string(identity["objectId"]!.stringValue!),
            ])
            let foreignClaims = try CompactJWS(parsing: exchange.json["access_token"]!.stringValue!).claims.merging(["iss": .string(otherTenant)]) { _, new in new }
            let foreign = try await present(try Assertions.sign(claims: foreignClaims, key: .p256(.init()), header: ["kid": "x"]))
            #expect(foreign.status == 401)
            #expect(foreign.json["error_description"]?.stringValue?.contains("of another tenant of this server") == true, "\(foreign.json)")

            let accepted = try await present(exchange.json["access_token"]!.stringValue!)
            #expect(accepted.status == 200, "\(accepted.json)")
            #expect(try await server.verifiedClaims(accepted.json["access_token"]!.stringValue!)["cred_type"] == "federatedIdentityCredential")

            // An application's own Sigil token is not a credential.
            let (_, secret) = try await server.addSecret("legacy-app")
            let appToken = try await server.token([
                ("grant_type", "client_credentials"), ("client_id", legacy), ("client_secret", secret), ("scope", "api://AzureADTokenExchange/.default"),
            ]).json["access_token"]!.stringValue!
            let refused = try await present(appToken)
            #expect(refused.status == 401)
            #expect(refused.json["error_description"]?.stringValue?.contains("Only a managed identity's Sigil token") == true)
        }
    }

    @Test func managedIdentitiesTakeNoSecretsAndAreNotApplications() async throws {
        try await Self.withWorld { server, _, _ in
            #expect(try await server.admin("POST", "applications/billing-worker/passwordCredentials", json: ["lifetime": "P30D"]).status == 404)
            let apps = try await server.admin("GET", "applications")
            #expect(apps.json["value"]?.arrayValue?.contains { $0["displayName"] == "billing-worker" } == false)
            let system = try await server.admin("DELETE", "managedIdentities/host:web-1")
            #expect(system.status == 400)
            #expect(system.json["error"]?["message"]?.stringValue?.contains("sigil host remove") == true)
        }
    }
}
