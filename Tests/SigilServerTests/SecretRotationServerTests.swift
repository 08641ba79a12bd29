import Foundation
import SigilCore
import Testing

@testable import SigilServer
@testable import SigilStore

/// Rotating an app's client secret through a vault secret, against the real server and store:
/// bad policies refused first, then the steps (each one transaction with its audit), what a
/// client sees across them, and resumption after a restart or a second replica at each step.
@Suite struct SecretRotationServerTests {
    static let policyPath = "vaults/keys/secrets/payments-secret/rotationPolicy"

    /// A tenant with a resource `orders`, an app `payments` holding one client secret, and a
    /// vault `keys` whose secret `payments-secret` holds that secret's value.
    struct Setup {
        let server: TestServer
        let vault: Vault
        let appId: String
        let objectId: String
        let keyId: String
        let secret: String

        static func make(_ server: TestServer, storeSecret: Bool = true) async throws -> Setup {
            try await server.createApp("orders", identifierUri: "api://orders")
            let app = try await server.createApp("payments")
            let (keyId, secret) = try await server.addSecret("payments")
            let vault = try await SecretRotationServerTests.createVault(server, name: "keys", tenantId: server.tenantId)
            let setup = Setup(
                server: server, vault: vault, appId: app["appId"]!.stringValue!, objectId: app["objectId"]!.stringValue!, keyId: keyId, secret: secret)
            if storeSecret { try await setup.write(secret) }
            return setup
        }

        func write(_ value: String) async throws {
            let kek = server.server.kek
            let version = SecretVersion(secretName: "payments-secret", version: VaultRules.newVersion(), properties: SecretProperties(), createdAt: Date(), updatedAt: Date())
            _ = try await server.store.setSecret(
                vaultId: vault.id, name: "payments-secret", version: version,
                seal: { try kek.ring.seal(value, context: SecretEnvelope.context(secretId: $0, version: version.version)) },
                audit: SecretRotationServerTests.audit(server.tenantId, "vault.secret.set"))
        }

        /// The value the vault holds now, as a reader gets it.
        func vaultValue() async throws -> (value: String, version: SecretVersion)? {
            guard let latest = try await server.store.secretVersion(vaultId: vault.id, name: "payments-secret", version: nil) else { return nil }
            return (try server.server.kek.ring.open(latest.envelope, context: latest.context), latest.version)
        }

        func tokenStatus(_ secret: String) async throws -> Int {
            try await server.token([
                ("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://orders/.default"),
            ]).status
        }

        func keyIds() async throws -> [String] {
            try await server.store.passwordCredentials(applicationId: objectId).map(\.keyId)
        }

        func rotation() async throws -> StoredSecretRotation {
            guard let rotation = try await server.store.secretRotation(vaultId: vault.id, name: "payments-secret") else { throw TestFailure("no rotation stored") }
            return rotation
        }

        func setPolicy(every: String = "P1D", overlap: String = "PT6H") async throws -> TestServer.Reply {
            try await server.admin("PUT", SecretRotationServerTests.policyPath, json: ["application": "payments", "every": .string(every), "overlap": .string(overlap)])
        }
    }

    static func createVault(_ server: TestServer, name: String, tenantId: String) async throws -> Vault {
        let vault = Vault(id: UUID().uuidString, tenantId: tenantId, name: name, retentionDays: 7, purgeProtection: false, createdAt: Date())
        try await server.store.createVault(vault, audit: audit(tenantId, "vault.create"))
        return vault
    }

    static func audit(_ tenantId: String, _ action: String) -> AuditEvent {
        AuditEvent(time: Date(), tenantId: tenantId, actorId: "test", actorName: "test", action: action, targetType: "vault", targetId: "keys", ipAddress: "", correlationId: "test")
    }

    // MARK: Bad input

    @Test func badPoliciesAreRefusedAndNothingIsStored() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let cases: [(JSONValue, Int, String)] = [
                (["application": "payments", "every": "P7D", "overlap": "P7D"], 400, "overlap"),
                (["application": "payments", "every": "P7D", "overlap": "P30D"], 400, "overlap"),
                (["application": "payments", "every": "PT30M", "overlap": "PT10M"], 400, "every"),
                (["application": "payments", "every": "30 days", "overlap": "P7D"], 400, "every"),
                (["application": "nobody", "every": "P30D", "overlap": "P7D"], 404, "application"),
                (["application": "payments", "every": "P30D"], 400, "overlap"),
                (["application": "payments", "every": "P30D", "overlap": "P7D", "value": "x"], 400, "value"),
                (["application": 7, "every": "P30D", "overlap": "P7D"], 400, "application"),
            ]
            for (body, status, target) in cases {
                let reply = try await server.admin("PUT", Self.policyPath, json: body)
                #expect(reply.status == status, "\(body): \(reply.json)")
                #expect(reply.json["error"]?["target"]?.stringValue == target, "\(body): \(reply.json)")
            }
            // A name outside the pattern, a vault that does not exist.
            #expect(try await server.admin("PUT", "vaults/keys/secrets/bad_name/rotationPolicy", json: ["application": "payments", "every": "P30D", "overlap": "P7D"]).status == 400)
            #expect(try await server.admin("PUT", "vaults/nowhere/secrets/payments-secret/rotationPolicy", json: ["application": "payments", "every": "P30D", "overlap": "P7D"]).status == 404)
            #expect(try await server.admin("GET", Self.policyPath).status == 404)
            #expect(try await server.admin("POST", "vaults/keys/secrets/payments-secret/rotate").status == 404)
            #expect(try await server.store.secretRotation(vaultId: setup.vault.id, name: "payments-secret") == nil)
        }
    }

    @Test func aSecretInAnotherTenantsVaultIsNotFound() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let other = UUID().uuidString.lowercased()
            try await server.store.transaction { database in
                try await database.raw("INSERT INTO tenants (id, display_name, is_default, created_at) VALUES (\(bind: other), 'other', 0, 0)").run()
            }
            _ = try await Self.createVault(server, name: "theirs", tenantId: other)
            let reply = try await server.admin("PUT", "vaults/theirs/secrets/payments-secret/rotationPolicy", json: ["application": "payments", "every": "P30D", "overlap": "P7D"])
            #expect(reply.status == 404)
            #expect(reply.json["error"]?["message"]?.stringValue?.contains("No vault 'theirs' in this tenant") == true)
            #expect(try await server.admin("GET", "vaults/theirs/secrets/payments-secret/rotationPolicy").status == 404)
            #expect(try await setup.keyIds() == [setup.keyId])
        }
    }

    @Test func aTenantThatBlocksSecretsRefusesThePolicyAndTheMint() async throws {
        try await TestServer.with(allowSecrets: false) { server in
            // Secretless from the start: the policy is refused at once, saying why.
            try await server.createApp("payments")
            _ = try await Self.createVault(server, name: "keys", tenantId: server.tenantId)
            let refused = try await server.admin("PUT", Self.policyPath, json: ["application": "payments", "every": "P30D", "overlap": "P7D"])
            #expect(refused.status == 400)
            #expect(refused.json["error"]?["code"]?.stringValue == AdminError.policyViolation)
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("does not allow client secrets") == true)
            #expect(try await server.admin("GET", Self.policyPath).status == 404)
        }
        try await TestServer.with { server in
            // Blocked after the policy was set: the mint is refused in its own transaction, nothing is
            // added, and the rotation says why.
            let setup = try await Setup.make(server)
            #expect(try await setup.setPolicy().status == 201)
            let block = try await server.admin(
                "PATCH", "policies/defaultAppManagementPolicy",
                json: ["applicationRestrictions": ["passwordCredentials": [["restrictionType": "passwordAddition"]], "keyCredentials": []]])
            #expect(block.status == 200, "\(block.json)")
            let rotate = try await server.admin("POST", "vaults/keys/secrets/payments-secret/rotate")
            #expect(rotate.status == 400)
            #expect(rotate.json["error"]?["code"]?.stringValue == AdminError.policyViolation)
            let before = try await setup.rotation()
            let due = before.state.nextRotationAt
            #expect(await server.server.rotator.performDueStep(before, now: due) == false)
            let after = try await setup.rotation()
            #expect(after.lastError?.contains("does not allow client secrets") == true)
            #expect(after.state == before.state)
            #expect(after.dueAt > due)
            #expect(try await setup.keyIds() == [setup.keyId])
            #expect(try await setup.vaultValue()?.value == setup.secret)
            let shown = try await server.admin("GET", Self.policyPath)
            #expect(shown.json["lastError"]?.stringValue?.contains("does not allow client secrets") == true)
        }
    }

    // MARK: Steps

    @Test func aRotationMintsKeepsTheOldSecretForTheOverlapThenRemovesIt() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            let set = try await setup.setPolicy()
            #expect(set.status == 201, "\(set.json)")
            #expect(set.json["currentKeyId"]?.stringValue == setup.keyId, "the vault's value is recognised as the app's secret")
            #expect(set.json["state"]?.stringValue == "idle")
            #expect(set.json["every"]?.stringValue == "P1D")
            #expect(set.json["appId"]?.stringValue == setup.appId)

            let rotated = try await server.admin("POST", "vaults/keys/secrets/payments-secret/rotate")
            #expect(rotated.status == 200, "\(rotated.json)")
            #expect(rotated.json["state"]?.stringValue == "overlap")
            #expect(rotated.json["retiringKeyId"]?.stringValue == setup.keyId)
            let newKeyId = try #require(rotated.json["currentKeyId"]?.stringValue)
            let (newSecret, version) = try #require(try await setup.vaultValue())
            #expect(newSecret != setup.secret)
            #expect(version.managed)
            #expect(SigilSecretFormat.validate(newSecret) == .success(.clientSecret))
            // Both work during the overlap; a second rotation now is refused.
            #expect(try await setup.tokenStatus(newSecret) == 200)
            #expect(try await setup.tokenStatus(setup.secret) == 200)
            #expect(Set(try await setup.keyIds()) == [setup.keyId, newKeyId])
            #expect(try await server.admin("POST", "vaults/keys/secrets/payments-secret/rotate").status == 409)

            // Before the overlap ends nothing happens; once it has, the old secret goes.
            let rotation = try await setup.rotation()
            let retireAt = try #require(rotation.state.retireAt)
            #expect(await server.server.rotator.performDueStep(rotation, now: retireAt.addingTimeInterval(-1)) == false)
            await server.server.rotator.performDueSteps(now: retireAt)
            #expect(try await setup.keyIds() == [newKeyId])
            #expect(try await setup.tokenStatus(setup.secret) == 401)
            #expect(try await setup.tokenStatus(newSecret) == 200)
            let idle = try await setup.rotation()
            #expect(idle.state.phase == .idle)
            #expect(idle.state.currentKeyId == newKeyId)
            #expect(idle.dueAt == rotation.state.nextRotationAt)

            // Every step is in the audit log, with key ids and versions and never a value.
            let audits = try await server.admin("GET", "auditLogs?top=50")
            let actions = audits.json["value"]?.arrayValue?.compactMap { $0["activityDisplayName"]?.stringValue } ?? []
            for action in ["vault.secret.rotationPolicy.set", "vault.secret.rotation.mint", "vault.secret.rotation.retire"] {
                #expect(actions.contains(action), "\(action) in \(actions)")
            }
            let text = String(decoding: audits.body, as: UTF8.self)
            #expect(!text.contains(newSecret) && !text.contains(setup.secret))
            #expect(text.contains(version.version))

            // The policy can be removed; the secrets stay as they are.
            #expect(try await server.admin("DELETE", Self.policyPath).status == 204)
            #expect(try await server.admin("GET", Self.policyPath).status == 404)
            #expect(try await setup.tokenStatus(newSecret) == 200)
        }
    }

    @Test func theRunningServiceWritesTheFirstSecretOfAPolicyOnAnEmptyVaultSecret() async throws {
        try await TestServer.with({ $0.rotationMinimumPeriod = 1 }) { server in
            let setup = try await Setup.make(server, storeSecret: false)
            let set = try await setup.setPolicy(every: "PT1H", overlap: "PT10M")
            #expect(set.status == 201)
            #expect(set.json["currentKeyId"] == .null)
            // The service wakes every second here; give it a few.
            var value: String?
            for _ in 0..<50 where value == nil {
                try await Task.sleep(for: .milliseconds(200))
                value = try await setup.vaultValue()?.value
            }
            let minted = try #require(value)
            #expect(try await setup.tokenStatus(minted) == 200)
            // Nothing to replace: the first rotation leaves the app's own secret alone and stays idle.
            #expect(try await setup.keyIds().count == 2)
            #expect(try await setup.rotation().state.phase == .idle)
        }
    }

    // MARK: Resumption

    @Test func aRestartInTheOverlapResumesWithTheRemovalAndNeverMintsTwice() async throws {
        let first = try await TestServer.start()
        let setup = try await Setup.make(first)
        #expect(try await setup.setPolicy().status == 201)
        #expect(try await first.admin("POST", "vaults/keys/secrets/payments-secret/rotate").status == 200)
        let (newSecret, _) = try #require(try await setup.vaultValue())
        let before = try await setup.rotation()
        let database = first.server.configuration.database
        await first.stop(keepingData: true)

        let second = try await TestServer.start(folder: first.folder) { $0.database = database }
        do {
            let resumed = Setup(
                server: second, vault: setup.vault, appId: setup.appId, objectId: setup.objectId, keyId: setup.keyId, secret: setup.secret)
            let rotation = try await resumed.rotation()
            #expect(rotation.state == before.state)
            #expect(try await resumed.tokenStatus(newSecret) == 200)
            #expect(try await resumed.tokenStatus(setup.secret) == 200)
            let retireAt = try #require(rotation.state.retireAt)
            await second.server.rotator.performDueSteps(now: retireAt)
            #expect(try await resumed.keyIds() == [rotation.state.currentKeyId!])
            #expect(try await resumed.tokenStatus(setup.secret) == 401)
            #expect(try await resumed.vaultValue()?.value == newSecret, "no second mint")
            #expect(try await second.store.secretVersions(vaultId: setup.vault.id, name: "payments-secret", after: 0, limit: 10)?.count == 2)
            await second.stop()
        } catch {
            await second.stop()
            throw error
        }
    }

    /// A mint that cannot finish leaves nothing behind: the credential and the vault version are
    /// one transaction, so no client secret exists whose only copy was lost.
    @Test func aMintThatFailsHalfwayAddsNoCredentialAndIsTriedAgain() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            #expect(try await setup.setPolicy().status == 201)
            // The secret is deleted: writing its version fails after the credential was inserted.
            _ = try await server.store.deleteSecret(
                vaultId: setup.vault.id, name: "payments-secret", at: Date(), purgeAt: Date().addingTimeInterval(86_400),
                audit: { _ in Self.audit(server.tenantId, "vault.secret.delete") })
            let rotation = try await setup.rotation()
            #expect(await server.server.rotator.performDueStep(rotation, now: rotation.state.nextRotationAt) == false)
            #expect(try await setup.keyIds() == [setup.keyId])
            let failed = try await setup.rotation()
            #expect(failed.state == rotation.state)
            #expect(failed.lastError?.contains("deleted but recoverable") == true)
            #expect(failed.dueAt == rotation.state.nextRotationAt.addingTimeInterval(SecretRotator.retryDelay(rotation.policy)))

            // Recovered, the retry mints once.
            _ = try await server.store.recoverSecret(vaultId: setup.vault.id, name: "payments-secret", audit: { _ in Self.audit(server.tenantId, "vault.secret.recover") })
            await server.server.rotator.performDueSteps(now: failed.dueAt)
            let minted = try await setup.rotation()
            #expect(minted.state.phase == .overlap)
            #expect(minted.lastError == nil)
            #expect(try await setup.keyIds().count == 2)
        }
    }

    /// Two replicas (or a replica and an administrator) deciding the same step: one does it,
    /// the other finds the state moved on and writes nothing.
    @Test func aStepDecidedOnAnOlderStateIsRefusedWhole() async throws {
        try await TestServer.with { server in
            let setup = try await Setup.make(server)
            #expect(try await setup.setPolicy().status == 201)
            let stale = try await setup.rotation()
            let rotator = server.server.rotator
            _ = try await rotator.mint(stale, now: Date(), audit: SecretRotator.serviceAudit)
            await #expect(throws: SecretRotationMovedOn.self) { _ = try await rotator.mint(stale, now: Date(), audit: SecretRotator.serviceAudit) }
            #expect(await rotator.performDueStep(stale, now: stale.state.nextRotationAt) == false)
            #expect(try await setup.keyIds().count == 2)
            #expect(try await server.store.secretVersions(vaultId: setup.vault.id, name: "payments-secret", after: 0, limit: 10)?.count == 2)
            #expect(try await setup.rotation().lastError == nil, "a step another replica took is not a failure")

            // Changing the policy moves the generation too: a removal decided before it is refused.
            let overlap = try await setup.rotation()
            #expect(try await setup.setPolicy(every: "P2D", overlap: "PT12H").status == 200)
            await #expect(throws: SecretRotationMovedOn.self) {
                _ = try await rotator.retire(overlap, keyId: overlap.state.retiringKeyId, now: Date(), audit: SecretRotator.serviceAudit)
            }
            let changed = try await setup.rotation()
            #expect(changed.state.phase == .overlap, "a rotation under way goes on under the new periods")
            #expect(changed.state.retireAt == changed.state.lastRotatedAt!.addingTimeInterval(12 * 3600))
            #expect(try await setup.keyIds().count == 2)
        }
    }
}
