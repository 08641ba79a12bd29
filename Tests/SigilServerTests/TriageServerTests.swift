import Foundation
import SigilCore
@testable import SigilServer
import SigilStore
import Testing

/// Reports and migrations against the real server and store (both stores when
/// SIGIL_TEST_POSTGRES_URL is set): what the usage summary counts, how it stays bounded, what the
/// plan proposes from real sign-ins, and that a disabled credential is refused at once.
@Suite struct TriageServerTests {
    static func inventory(_ server: TestServer) async throws -> [String: JSONValue] {
        let items = try await server.admin("GET", "reports/credentials").json["value"]?.arrayValue ?? []
        return Dictionary(items.map { ($0["keyId"]!.stringValue!, $0) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func theInventoryCountsEverySuccessfulSignInAndNoFailedOne() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            for _ in 0..<3 { #expect(try await server.token(world.secretForm, headers: [("User-Agent", "billing-job/1.0")]).status == 200) }
            var wrong = world.secretForm
            wrong[2].1 = SigilSecretFormat.generate(.clientSecret)
            #expect(try await server.token(wrong).status == 401)
            #expect(try await server.token(world.assertionForm(try world.jwkAssertion())).status == 200)

            let items = try await Self.inventory(server)
            let secret = try #require(items[world.secretKeyId])
            #expect(secret["credentialType"] == "clientSecret" && secret["signIns"] == 3 && secret["state"] == "enabled")
            #expect(secret["userAgents"] == ["billing-job/1.0"] && secret["networks"] == ["127.0.0.0/24"])
            #expect(secret["lastUsedDateTime"]?.stringValue != nil)
            let keys = items.values.filter { $0["appId"]?.stringValue == world.clientId && $0["credentialType"] != "clientSecret" }
            #expect(keys.map { $0["credentialType"]!.stringValue! }.sorted() == ["certificate", "certificate", "clientAssertion"])
            #expect(keys.first { $0["credentialType"] == "clientAssertion" }?["signIns"] == 1)
            #expect(keys.filter { $0["credentialType"] == "certificate" }.allSatisfy { $0["signIns"] == 0 && $0["lastUsedDateTime"] == .null })

            // Unknown parameters and out-of-range windows change nothing and say what to send.
            let bad = try await server.admin("GET", "reports/stale?unusedDays=0")
            #expect(bad.status == 400 && bad.json["error"]?["target"] == "unusedDays")
            #expect(try await server.admin("GET", "reports/credentials?days=3").status == 400)
        }
    }

    @Test func sourcesStayBoundedWhateverTheClientsSend() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            for index in 0..<(UsageSummary.maximumSourcesPerKind + 5) {
                #expect(try await server.token(world.secretForm, headers: [("User-Agent", "agent-\(index)")]).status == 200)
            }
            #expect(try await server.token(world.secretForm, headers: [("User-Agent", "agent-0")]).status == 200)
            let secret = try #require(try await Self.inventory(server)[world.secretKeyId])
            let agents = secret["userAgents"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(agents.count == UsageSummary.maximumSourcesPerKind)
            #expect(agents.first == "agent-0", "a kept source still counts its later sign-ins, and the most used comes first")
            #expect(secret["signIns"]?.integerValue == Int64(UsageSummary.maximumSourcesPerKind + 6))
        }
    }

    @Test func sharesArePerUTCDayFromTheSummary() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
            func event(_ type: CredentialType, at time: Date) -> SignInRecord {
                SignInRecord(event: SignInEvent(
                    id: UUID().uuidString, time: time, tenantId: server.tenantId, appId: world.clientId, appDisplayName: "billing",
                    servicePrincipalId: nil, credentialType: type, credentialId: type == .clientSecret ? world.secretKeyId : "K",
                    ipAddress: "10.0.0.1", userAgent: nil, resource: nil, resourceId: nil, succeeded: true, errorCode: nil, failureReason: nil,
                    correlationId: UUID().uuidString))
            }
            _ = try await server.store.recordSignIns([event(.clientSecret, at: twoDaysAgo), event(.clientSecret, at: twoDaysAgo), event(.certificate, at: Date())])
            let window = try await server.admin("GET", "reports/secretless?days=3")
            #expect(window.status == 200, "\(window.json)")
            let daily = window.json["daily"]?.arrayValue ?? []
            #expect(daily.count == 2, "\(daily)")
            #expect(daily.first?["signInShare"] == 0 && daily.first?["appShare"] == 0)
            let today = try #require(daily.last)
            #expect(today["apps"] == 2 && today["appShare"] == 1, "billing and the admin client, both secretless today: \(today)")
            let stages = try await server.admin("GET", "reports/stages?days=3").json["value"]?.arrayValue ?? []
            #expect(stages.first { $0["appId"]?.stringValue == world.clientId }?["stage"] == "secret-and-secretless")
            let todayOnly = try await server.admin("GET", "reports/stages?days=1").json["value"]?.arrayValue ?? []
            #expect(todayOnly.first { $0["appId"]?.stringValue == world.clientId }?["stage"] == "secretless")
            let past = try await server.admin("GET", "reports/secretless?days=1&until=2020-02-29")
            #expect(past.status == 404 && past.json["error"]?["code"] == "NoData")
            #expect(try await server.admin("GET", "reports/secretless?until=2020-02-30").status == 400)
        }
    }

    @Test func thePlanProposesAManagedIdentityWhereAnAgentSignsIn() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let none = try await server.admin("GET", "migrations/billing/plan")
            #expect(none.status == 404 && none.json["error"]?["code"] == "NoData")
            #expect(try await server.token(world.secretForm).status == 200)
            let before = try await server.admin("GET", "migrations/billing/plan")
            #expect(before.json["secrets"]?.arrayValue?.first?["proposal"]?["kind"] == "certificate", "\(before.json)")

            let agent = try await ManagedIdentityTests.enrolledAgent(server, host: "web-1")
            try await server.grant(agent.systemAppId, "orders", role: "Orders.Read")
            #expect(try await agent.token(for: agent.systemAppId).status == 200)
            let after = try await server.admin("GET", "migrations/billing/plan")
            let proposal = try #require(after.json["secrets"]?.arrayValue?.first?["proposal"])
            #expect(proposal["kind"] == "managedIdentity" && proposal["hostName"] == "web-1" && proposal["hostId"]?.stringValue == agent.hostId)
            #expect(proposal["evidence"]?.arrayValue?.first?.stringValue?.contains("web-1") == true)
        }
    }

    @Test func aDisabledCredentialIsRefusedAtOnceAndWorksAgainWhenEnabled() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let keys = try await server.store.keyCredentials(applicationId: world.clientObjectId)
            let jwk = try #require(keys.first { $0.kid == world.jwkKid })
            let references = [
                CredentialReference(kind: .password, applicationId: world.clientObjectId, id: world.secretKeyId),
                CredentialReference(kind: .key, applicationId: world.clientObjectId, id: jwk.keyId),
            ]
            try await server.store.setCredentialsDisabled(references, disabled: true, at: Date(), audit: [])
            let secret = try await server.token(world.secretForm)
            #expect(secret.status == 401 && secret.json["error_codes"] == [7000215])
            #expect(secret.json["error_description"]?.stringValue?.contains("was disabled") == true)
            #expect(secret.json["error_description"]?.stringValue?.contains(world.secret) == false)
            let key = try await server.token(world.assertionForm(try world.jwkAssertion()))
            #expect(key.status == 401 && key.json["error_description"]?.stringValue?.contains("was disabled") == true, "\(key.json)")
            let shown = try await server.admin("GET", "applications/billing").json
            #expect(shown["passwordCredentials"]?.arrayValue?.first?["disabledDateTime"]?.stringValue != nil)
            #expect(try await Self.inventory(server)[world.secretKeyId]?["state"] == "disabled")

            // A credential that is not there fails the whole change.
            let missing = CredentialReference(kind: .federated, applicationId: world.clientObjectId, id: UUID().uuidString)
            await #expect(throws: StoreError.self) {
                try await server.store.setCredentialsDisabled(references + [missing], disabled: false, at: Date(), audit: [])
            }
            #expect(try await server.token(world.secretForm).status == 401, "a refused change enabled nothing")

            try await server.store.setCredentialsDisabled(references, disabled: false, at: Date(), audit: [])
            #expect(try await server.token(world.secretForm).status == 200)
            #expect(try await server.token(world.assertionForm(try world.jwkAssertion())).status == 200)
        }
    }

    @Test func aFinishedMigrationsSecretsAreDeletedWhenItsRetentionEnds() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            #expect(try await server.token(world.secretForm).status == 200)
            let keys = try await server.store.keyCredentials(applicationId: world.clientObjectId)
            let certificate = try #require(keys.first { $0.x5t == Assertions.x5t(world.ecCertificate.der) })
            let applied = try await server.admin("POST", "migrations/billing/apply", json: ["kind": "certificate", "credentialId": .string(certificate.keyId)])
            #expect(applied.status == 201, "\(applied.json)")
            #expect(applied.json["secretKeyIds"] == [.string(world.secretKeyId)])
            // The soak must outlast the secret's last use and still cover the replacement's sign-in
            // when a loaded machine takes seconds between that sign-in and the finish (at PT1S it
            // did, on PostgreSQL with the whole suite running).
            try await Task.sleep(for: .milliseconds(5100))
            let assertion = try Assertions.sign(
                clientId: world.clientId, audience: server.tokenEndpoint, key: world.ecKey, header: ["x5t": .string(Assertions.x5t(world.ecCertificate.der))])
            #expect(try await server.token(world.assertionForm(assertion)).status == 200)
            let finished = try await server.admin("POST", "migrations/billing/finish", json: ["soak": "PT5S", "retention": "PT1H"])
            #expect(finished.status == 200 && finished.json["state"] == "finished", "\(finished.json)")

            let maintenance = RetentionMaintenance(store: server.store, interval: .seconds(1), logger: server.server.logger)
            #expect(await maintenance.deleteMigratedSecrets(now: Date()) == 0, "not before the retention ends")
            #expect(try await server.store.passwordCredentials(applicationId: world.clientObjectId).count == 1)
            #expect(await maintenance.deleteMigratedSecrets(now: Date().addingTimeInterval(3601)) == 1)
            #expect(try await server.store.passwordCredentials(applicationId: world.clientObjectId).isEmpty)
            #expect(try await server.admin("GET", "migrations/billing").json["state"] == "deleted")
            #expect(await maintenance.deleteMigratedSecrets(now: Date().addingTimeInterval(3601)) == 0, "once")
            let rollback = try await server.admin("POST", "migrations/billing/rollback")
            #expect(rollback.status == 409, "nothing to roll back once deleted")
        }
    }
}
