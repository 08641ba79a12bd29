import Foundation
import SigilCore
import Testing

@testable import SigilServer
@testable import SigilStore

/// Incident response (issue 12 item 11) on a real server, on SQLite and (with
/// SIGIL_TEST_POSTGRES_URL) PostgreSQL: containment refuses the principal's tokens at the admin
/// API, the vault and introspection and every credential it had at the token endpoint, puts
/// the vault secrets it could read up for rotation, and release restores exactly what was there.
/// The attack and bad-input cases come first.
@Suite struct IncidentTests {
    /// `billing` (World) may read vault `ops` (its secrets `db` and `payments-secret`, the latter
    /// under rotation) but not vault `private`, and reads the tenant as a Security Reader; `orders`
    /// has a secret to introspect with.
    struct Setup {
        let world: World
        let ordersSecret: String
        var server: TestServer { world.server }

        static func make(_ server: TestServer) async throws -> Setup {
            let world = try await World.make(server)
            let (_, ordersSecret) = try await server.addSecret("orders")
            try await server.assignRole("Security Reader", to: "billing")
            let adminVault = try await VaultServerTests.vaultToken(server)
            for (vault, secret) in [("ops", "db"), ("private", "root")] {
                if try await server.store.vault(named: vault) == nil { try await VaultServerTests.createVault(server, vault) }
                #expect(try await VaultServerTests.vault(server, "PUT", "\(vault)/secrets/\(secret)", token: adminVault, json: ["value": "v1"]).status == 200)
            }
            try await server.createApp("payments")
            let (_, paymentsSecret) = try await server.addSecret("payments")
            #expect(try await VaultServerTests.vault(server, "PUT", "ops/secrets/payments-secret", token: adminVault, json: ["value": .string(paymentsSecret)]).status == 200)
            let policy = try await server.admin(
                "PUT", "vaults/ops/secrets/payments-secret/rotationPolicy", json: ["application": "payments", "every": "P30D", "overlap": "P7D"])
            #expect(policy.status == 201, "\(policy.json)")
            let ops = try #require(try await server.store.vault(named: "ops"))
            let assigned = try await server.admin("POST", "roleManagement/directory/roleAssignments", json: [
                "roleDefinitionId": "Vault Secrets User", "principalId": "billing", "directoryScopeId": .string("/vaults/\(ops.id)"),
            ])
            #expect(assigned.status == 201, "\(assigned.json)")
            return Setup(world: world, ordersSecret: ordersSecret)
        }

        /// A token for `billing` with its secret, for `scope`.
        func token(_ scope: String) async throws -> String {
            let reply = try await server.token([
                ("grant_type", "client_credentials"), ("client_id", world.clientId), ("client_secret", world.secret), ("scope", scope + "/.default"),
            ])
            guard let token = reply.json["access_token"]?.stringValue else { throw TestFailure("token for \(scope) refused: \(reply.json)") }
            return token
        }

        var vaultScope: String { "https://vault.localhost:\(URLComponents(string: server.baseURL)!.port!)" }

        /// What `orders` learns from introspecting `token`.
        func introspect(_ token: String) async throws -> TestServer.Reply {
            try await IncidentTests.introspect(server, [("client_id", world.resourceAppId), ("client_secret", ordersSecret), ("token", token)])
        }

        /// The status of each of billing's credentials at the token endpoint: secret, RSA certificate, JWK.
        func credentialStatuses() async throws -> [Int] {
            let certificate = try Assertions.sign(
                clientId: world.clientId, audience: server.tokenEndpoint, key: world.rsaKey,
                header: ["x5t#S256": .string(Assertions.x5tS256(world.rsaCertificate.der))])
            return [
                try await server.token(world.secretForm).status, try await server.token(world.assertionForm(certificate)).status,
                try await server.token(world.assertionForm(try world.jwkAssertion())).status,
            ]
        }
    }

    static func introspect(_ server: TestServer, _ form: [(String, String)], headers: [(String, String)] = []) async throws -> TestServer.Reply {
        try await server.send(
            "POST", "/\(server.tenantId)/oauth2/v2.0/introspect", body: Data(FormParameters.encode(form).utf8),
            headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers)
    }

    @Test func aContainedPrincipalsTokensAndCredentialsAreRefusedEverywhereUntilRelease() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let ordersToken = try await setup.token("api://orders")
            let vaultToken = try await setup.token(setup.vaultScope)
            let adminToken = try await setup.token("api://sigil-admin")
            #expect(try await setup.introspect(ordersToken).json["active"] == true)
            #expect(try await VaultServerTests.vault(server, "GET", "ops/secrets/db", token: vaultToken).status == 200)
            #expect(try await server.admin("GET", "tenant", token: adminToken).status == 200)
            #expect(try await setup.credentialStatuses() == [200, 200, 200])

            let contained = try await server.admin("POST", "servicePrincipals/billing/contain")
            #expect(contained.status == 201, "\(contained.json)")
            #expect(contained.json["state"] == "contained")
            #expect(contained.json["accountEnabledBefore"] == true)
            #expect(contained.json["disabledCredentials"]?.arrayValue?.count == 4, "the secret, two certificates and the key")
            // What it could read, and what was done: the rotating one is due, the other is for a person.
            #expect(contained.json["vaultSecrets"] == [
                ["vault": "ops", "name": "db", "rotation": "manual"], ["vault": "ops", "name": "payments-secret", "rotation": "due"],
            ])

            // Tokens issued before: refused by the admin API, the vault and introspection.
            #expect(try await server.admin("GET", "tenant", token: adminToken).status == 401)
            #expect(try await VaultServerTests.vault(server, "GET", "ops/secrets/db", token: vaultToken).status == 401)
            #expect(try await setup.introspect(ordersToken).json == ["active": false])
            // New token requests, with every credential it has.
            #expect(try await setup.credentialStatuses() == [400, 400, 400])
            let refused = try await server.token(setup.world.secretForm).json
            #expect(refused["error_codes"] == [7000112] && refused["error_description"]?.stringValue?.contains("sigil incident release") == true,
                    "the error names the way back: \(refused)")

            // The rotation is due now (or the service has already minted since).
            let ops = try #require(try await server.store.vault(named: "ops"))
            let rotation = try #require(try await server.store.secretRotation(vaultId: ops.id, name: "payments-secret"))
            let containedAt = try #require(RFC3339.date(contained.json["containedDateTime"]?.stringValue ?? ""))
            #expect(rotation.state.nextRotationAt <= containedAt.addingTimeInterval(1) || (rotation.state.lastRotatedAt ?? .distantPast) >= containedAt)

            let released = try await server.admin("POST", "servicePrincipals/\(setup.world.clientId)/release")
            #expect(released.status == 200, "\(released.json)")
            #expect(released.json["state"] == "released")
            // Old tokens stay refused; new ones work everywhere.
            #expect(try await server.admin("GET", "tenant", token: adminToken).status == 401)
            #expect(try await VaultServerTests.vault(server, "GET", "ops/secrets/db", token: vaultToken).status == 401)
            #expect(try await setup.introspect(ordersToken).json == ["active": false])
            try await Task.sleep(for: .milliseconds(1100))  // tokens carry whole seconds: the next second's are new
            #expect(try await setup.credentialStatuses() == [200, 200, 200])
            #expect(try await VaultServerTests.vault(server, "GET", "ops/secrets/db", token: try await setup.token(setup.vaultScope)).status == 200)
            #expect(try await server.admin("GET", "tenant", token: try await setup.token("api://sigil-admin")).status == 200)
            #expect(try await setup.introspect(try await setup.token("api://orders")).json["active"] == true)

            let audit = try await server.admin("GET", "auditLogs?top=1000").json["value"]?.arrayValue ?? []
            let actions = audit.compactMap { $0["activityDisplayName"]?.stringValue }
            #expect(actions.filter { $0 == "servicePrincipal.contain" }.count == 1)
            #expect(actions.filter { $0 == "servicePrincipal.release" }.count == 1)
        }
    }

    @Test func badInputIsRefusedAndChangesNothing() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            func snapshot() async throws -> [JSONValue?] {
                [
                    try await server.admin("GET", "incidents").json["value"], try await server.admin("GET", "applications/billing").json["accountEnabled"],
                    try await server.admin("GET", "auditLogs?top=1000").json["value"].map { JSONValue.integer(Int64($0.arrayValue?.count ?? 0)) },
                ]
            }
            let before = try await snapshot()
            let unknown = try await server.admin("POST", "servicePrincipals/nobody/contain")
            #expect(unknown.status == 404)
            #expect(unknown.json["error"]?["message"]?.stringValue?.contains("No service principal 'nobody'") == true, "\(unknown.json)")
            let notContained = try await server.admin("POST", "servicePrincipals/billing/release")
            #expect(notContained.status == 409)
            #expect(notContained.json["error"]?["message"]?.stringValue?.contains("is not contained") == true, "\(notContained.json)")
            // The admin API itself and the caller's own app would lock administrators out.
            #expect(try await server.admin("POST", "servicePrincipals/api%3A%2F%2Fsigil-admin/contain").status == 403)
            #expect(try await server.admin("POST", "servicePrincipals/\(server.adminKey.clientId)/contain").status == 403)
            #expect(try await server.admin("GET", "incidents/nothing-here").status == 404)
            #expect(try await server.admin("GET", "incidents/billing").status == 404)
            #expect(try await server.admin("GET", "incidents?top=5").status == 400)
            #expect(try await snapshot() == before)

            #expect(try await server.admin("POST", "servicePrincipals/billing/contain").status == 201)
            let once = try await snapshot()
            let twice = try await server.admin("POST", "servicePrincipals/billing/contain")
            #expect(twice.status == 409)
            #expect(twice.json["error"]?["message"]?.stringValue?.contains("already contained") == true, "\(twice.json)")
            #expect(try await snapshot() == once)
            #expect(try await server.admin("GET", "incidents/billing?since=2026-01-01T00:00:00Z&until=2025-01-01T00:00:00Z").status == 400)
            #expect(try await server.admin("GET", "incidents/billing?top=0").status == 400)
            #expect(try await server.admin("GET", "incidents/billing?colour=red").status == 400)
        }
    }

    @Test func releaseRestoresOnlyWhatTheContainmentChanged() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let world = setup.world
            /// Each credential of billing (keyId) and whether it is disabled.
            func credentials() async throws -> [String: Bool] {
                let app = try await server.admin("GET", "applications/billing").json
                let all = (app["passwordCredentials"]?.arrayValue ?? []) + (app["keyCredentials"]?.arrayValue ?? [])
                return Dictionary(uniqueKeysWithValues: all.map { ($0["keyId"]?.stringValue ?? "", $0["disabledDateTime"] != nil) })
            }
            // A second secret disabled before the incident (as `sigil migrate finish` does) stays disabled after release.
            let (retiredKeyId, _) = try await server.addSecret("billing")
            try await server.store.setCredentialsDisabled(
                [CredentialReference(kind: .password, applicationId: world.clientObjectId, id: retiredKeyId)], disabled: true, at: Date(), audit: [])
            let before = try await credentials()
            #expect(before.count == 5 && before.values.filter { $0 }.count == 1)

            let contained = try await server.admin("POST", "servicePrincipals/billing/contain")
            #expect(contained.status == 201, "\(contained.json)")
            let disabled = Set((contained.json["disabledCredentials"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            #expect(disabled == Set(before.filter { !$0.value }.keys), "every credential not disabled already, and only those")
            #expect(try await credentials().values.allSatisfy { $0 })
            // The secret that leaked is removed while contained; release does not bring it back.
            #expect(try await server.admin("DELETE", "applications/billing/passwordCredentials/\(world.secretKeyId)").status == 204)

            #expect(try await server.admin("POST", "servicePrincipals/billing/release").status == 200)
            var expected = before
            expected[world.secretKeyId] = nil
            #expect(try await credentials() == expected)
            #expect(try await setup.credentialStatuses() == [401, 200, 200], "the removed secret is gone; the certificate and key work again")
        }
    }

    @Test func aPrincipalDisabledBeforeStaysDisabledAfterRelease() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            #expect(try await server.admin("PATCH", "applications/billing", json: ["accountEnabled": false]).status == 200)
            let contained = try await server.admin("POST", "servicePrincipals/billing/contain")
            #expect(contained.json["accountEnabledBefore"] == false)
            #expect(try await server.admin("POST", "servicePrincipals/billing/release").status == 200)
            #expect(try await server.admin("GET", "applications/billing").json["accountEnabled"] == false)
            #expect(try await setup.credentialStatuses() == [400, 400, 400])
        }
    }

    /// A containment that fails at its last write (here its audit event, whose id is taken)
    /// leaves nothing behind: the principal enabled, no incident, no revocation, no rotation moved.
    @Test func aContainmentThatFailsPartWayLeavesNothingHalfDone() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let store = server.store
            let app = try #require(try await store.application(tenantId: server.tenantId, reference: "billing"))
            let ops = try #require(try await store.vault(named: "ops"))
            let rotationBefore = try await store.secretRotation(vaultId: ops.id, name: "payments-secret")
            let taken = AuditEvent(
                time: Date(), tenantId: server.tenantId, actorId: "test", actorName: "test", action: "test", targetType: "test", targetId: "test",
                ipAddress: "", succeeded: true, correlationId: "test")
            try await store.recordAudit(taken)
            let grants = try await store.roleGrants(tenantId: server.tenantId, principalObjectId: app.objectId)
            await #expect(throws: (any Error).self) {
                try await store.contain(app, grants: grants, by: Incident.Actor(id: "test", displayName: "test"), at: Date()) { _ in taken }
            }
            #expect(try await store.application(tenantId: server.tenantId, reference: "billing")?.enabled == true)
            #expect(try await store.incidents(tenantId: server.tenantId).isEmpty)
            #expect(try await store.tokenRevocation(servicePrincipalId: app.servicePrincipalId, now: Date()) == nil)
            #expect(try await store.secretRotation(vaultId: ops.id, name: "payments-secret") == rotationBefore)
            #expect(try await setup.credentialStatuses() == [200, 200, 200])
        }
    }

    @Test func introspectionAnswersOnlyTheTokensAudienceAndOnlyForGoodTokens() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let world = setup.world
            let ordersToken = try await setup.token("api://orders")
            let orders = [("client_id", world.resourceAppId), ("client_secret", setup.ordersSecret)]
            // No client authentication, a wrong secret, an unknown client, no token, an unknown tenant.
            #expect(try await Self.introspect(server, [("token", ordersToken)]).status == 400)
            var wrong = orders
            wrong[1].1 = SigilSecretFormat.generate(.clientSecret)
            #expect(try await Self.introspect(server, wrong + [("token", ordersToken)]).status == 401)
            #expect(try await Self.introspect(server, [("client_id", UUID().uuidString), ("client_secret", setup.ordersSecret), ("token", ordersToken)]).status == 400)
            #expect(try await Self.introspect(server, orders).status == 400)
            #expect(try await server.send("POST", "/nowhere/oauth2/v2.0/introspect", body: Data(FormParameters.encode(orders + [("token", ordersToken)]).utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")]).status == 400)

            // A token for another audience (the vault), a forged one, garbage, and an expired one signed by the server's own key.
            #expect(try await setup.introspect(try await setup.token(setup.vaultScope)).json == ["active": false])
            var parts = ordersToken.split(separator: ".").map(String.init)
            parts[2] = String(parts[2].reversed())
            #expect(try await setup.introspect(parts.joined(separator: ".")).json == ["active": false])
            #expect(try await setup.introspect("not-a-token").json == ["active": false])
            var claims = try CompactJWS(parsing: ordersToken).claims
            claims["exp"] = .integer(Int64(Date().timeIntervalSince1970) - 600)
            let signer = try server.server.keys.signer(for: .es256)
            #expect(try await setup.introspect(try CompactJWS.sign(claims: claims, with: signer.key, kid: signer.kid)).json == ["active": false])

            // The audience's own token: its claims.
            let active = try await setup.introspect(ordersToken)
            #expect(active.status == 200)
            #expect(active.header("Cache-Control") == "no-store")
            #expect(active.json["active"] == true)
            #expect(active.json["client_id"]?.stringValue == world.clientId)
            #expect(active.json["aud"]?.stringValue == world.resourceAppId)
            #expect(active.json["roles"] == ["Orders.Read"])
            #expect(active.json["scope"] == "Orders.Read")
            #expect(active.json["iss"]?.stringValue == "\(server.baseURL)/\(server.tenantId)/v2.0")
            #expect(active.json["exp"]?.integerValue != nil && active.json["iat"]?.integerValue != nil && active.json["sub"]?.stringValue != nil)

            // A key-signed client assertion is single-use here too.
            let assertion = try Assertions.sign(
                claims: Assertions.claims(clientId: world.intruderId, audience: "\(server.baseURL)/\(server.tenantId)/oauth2/v2.0/introspect"),
                key: world.intruderKey, header: ["kid": "intruder-key"])
            let byKey = [("client_id", world.intruderId), ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion), ("token", ordersToken)]
            #expect(try await Self.introspect(server, byKey).json == ["active": false])  // not its audience
            let replay = try await Self.introspect(server, byKey)
            #expect(replay.status == 401)
            #expect(replay.json["error_codes"] == [700023])
        }
    }

    @Test func theRevocationListAndDiscoveryTellResourcesWhatToRefuse() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let discovery = try await server.send("GET", "/\(server.tenantId)/v2.0/.well-known/openid-configuration").json
            #expect(discovery["introspection_endpoint"]?.stringValue == "\(server.baseURL)/\(server.tenantId)/oauth2/v2.0/introspect")
            let listURL = try #require(discovery["revocation_list_uri"]?.stringValue)
            let empty = try await server.send("GET", listURL)
            #expect(empty.status == 200)
            #expect(empty.json["revoked"] == [])
            let etag = try #require(empty.header("ETag"))
            #expect(try await server.send("GET", listURL, headers: [("If-None-Match", etag)]).status == 304)
            #expect(try await server.send("GET", "/nowhere/discovery/v2.0/revocations").status == 404)

            let token = try await setup.token("api://orders")
            let iat = try #require(try CompactJWS(parsing: token).claims["iat"]?.integerValue)
            #expect(try await server.admin("POST", "servicePrincipals/billing/contain").status == 201)
            let listed = try await server.send("GET", listURL, headers: [("If-None-Match", etag)])
            #expect(listed.status == 200)
            let entry = try #require(listed.json["revoked"]?.arrayValue?.first)
            let sub = try #require(try CompactJWS(parsing: token).claims["sub"])
            #expect(entry["sub"] == sub)
            #expect(entry["appid"]?.stringValue == setup.world.clientId)
            #expect(try #require(entry["issuedAtOrBefore"]?.integerValue) >= iat)
            #expect(try #require(entry["until"]?.integerValue) > iat + Int64(AccessToken.lifetime))
            #expect(listed.header("ETag") != etag)
        }
    }

    @Test func theTimelineShowsWhatThePrincipalDidFromWhereAndWhatChanged() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let vaultToken = try await setup.token(setup.vaultScope)
            #expect(try await VaultServerTests.vault(server, "GET", "ops/secrets/db", token: vaultToken).status == 200)
            var bad = setup.world.secretForm
            bad[2].1 = SigilSecretFormat.generate(.clientSecret)
            #expect(try await server.token(bad, headers: [("User-Agent", "stolen-client/1.0")]).status == 401)
            let (keyId, _) = try await server.addSecret("billing")

            let contained = try await server.admin("POST", "servicePrincipals/billing/contain")
            let timeline = try #require(contained.json["timeline"])
            let entries = timeline["entries"]?.arrayValue ?? []
            let times = entries.compactMap { $0["dateTime"]?.stringValue.flatMap(RFC3339.date) }
            #expect(times == times.sorted())
            #expect(entries.contains { $0["kind"] == "signIn" && $0["result"] == "failure" && $0["detail"] == "AADSTS7000215" })
            #expect(entries.contains { $0["kind"] == "action" && $0["what"]?.stringValue?.hasPrefix("vault.secret") == true })
            #expect(entries.contains { $0["kind"] == "change" && $0["what"] == "application.passwordCredential.add" && $0["credentialId"]?.stringValue == keyId })
            let agents = timeline["userAgents"]?.arrayValue ?? []
            #expect(agents.contains { $0["value"] == "stolen-client/1.0" && $0["failures"] == 1 })
            #expect(timeline["ipAddresses"]?.arrayValue?.first?["value"] == "127.0.0.1")

            // Shown later by the principal's name, bounded by a window.
            let shown = try await server.admin("GET", "incidents/billing?top=1")
            #expect(shown.status == 200)
            #expect(shown.json["timeline"]?["truncated"] == true)
            let future = try await server.admin("GET", "incidents/billing?since=2099-01-01T00:00:00Z&until=2099-01-02T00:00:00Z")
            #expect(future.json["timeline"]?["entries"] == [])
        }
    }
}
