import Foundation
import SigilCore
import Testing

@testable import SigilAgent

/// The agent against a real Sigil server: enrollment, configuration, tokens on all three
/// endpoints, key rotation, and serving from cache once the server is gone.
@Suite struct AgentWithServerTests {
    @Test func aMistypedJoinTokenIsRefusedBeforeAnyCall() async throws {
        let token = SigilSecretFormat.generate(.joinToken)
        let mistyped = String(token.dropLast()) + (token.last == "A" ? "B" : "A")
        let state = AgentState(folder: temporaryFolder("enroll").path)
        // Nothing listens on port 1 and the CA file does not exist: only the local check can answer.
        await #expect(throws: AgentStateError("the join token is malformed: \(SigilSecretFormat.Problem.checksumMismatch)")) {
            _ = try await AgentEnrollment.enroll(server: "https://127.0.0.1:1", caFile: "/nonexistent", joinToken: mistyped, state: state, hostname: "h")
        }
        #expect(!FileManager.default.fileExists(atPath: state.folder))
    }

    @Test func enrolledAgentServesTokensRotatesItsKeyAndOutlivesTheServer() async throws {
        let server = try await LiveServer.start()
        defer { server.remove() }
        try await server.admin("POST", "applications", ["displayName": "orders-api", "identifierUris": ["api://orders"]])
        try await server.admin("POST", "applications", ["displayName": "billing-api", "identifierUris": ["api://billing"]])
        let identity = try await server.admin("POST", "managedIdentities", ["displayName": "orders-mi"])
        let miAppId = try #require(identity.objectValue?["appId"]?.stringValue)
        let miResourceId = try #require(identity.objectValue?["resourceId"]?.stringValue)
        let host = try await server.admin("POST", "hosts", ["name": "web-1"])
        let joinToken = try #require(host.objectValue?["joinToken"]?.stringValue)
        try await server.admin("POST", "hosts/web-1/identities", ["identity": "orders-mi"])
        // A second identity, handed to this test process only, by its uid and executable.
        let socketIdentity = try await server.admin("POST", "managedIdentities", ["displayName": "socket-mi"])
        let socketAppId = try #require(socketIdentity.objectValue?["appId"]?.stringValue)
        try await server.admin("POST", "hosts/web-1/identities", ["identity": "socket-mi"])
        let me = try ProcessAttestation.readExecutable(of: getpid())
        try await server.admin("POST", "hosts/web-1/rules", ["identity": "socket-mi", "uid": .integer(Int64(getuid())), "sha256": .string(me.sha256)])

        let state = AgentState(folder: temporaryFolder("agent").path)
        defer { try? FileManager.default.removeItem(atPath: state.folder) }
        let registration = try await AgentEnrollment.enroll(server: server.baseURL, caFile: server.caFile, joinToken: joinToken, state: state, hostname: "web-1.local")
        #expect(registration.hostName == "web-1")
        #expect(try FileManager.default.attributesOfItem(atPath: state.keyPath)[.posixPermissions] as? Int == 0o600)
        // The join token works once.
        await #expect(throws: AgentStateError.self) {
            _ = try await AgentEnrollment.enroll(
                server: server.baseURL, caFile: server.caFile, joinToken: joinToken, state: AgentState(folder: state.path("again")), hostname: "x")
        }

        let agent = try await RunningAgent.start(state)
        do {
            try await waitUntil { Set(agent.runtime.configuration.userAssignedIdentities.map(\.appId)) == [miAppId, socketAppId] }
            #expect(agent.runtime.configuration.rules.count == 1)
            #expect(state.readConfiguration() == agent.runtime.configuration)

            // IMDS, no selector: the system identity.
            let system = try await agent.get(agent.imds("resource=api://orders"), headers: [("Metadata", "true")])
            #expect(system.status == 200, "\(system.json)")
            #expect(system["client_id"] == registration.systemIdentity.appId)
            #expect(system["token_type"] == "Bearer")
            #expect(system["resource"] == "api://orders")
            #expect(Int(system["expires_in"] ?? "") ?? 0 > 0)
            let claims = try CompactJWS(parsing: try #require(system["access_token"])).claims
            #expect(claims["oid"]?.stringValue == registration.systemIdentity.objectId)
            // Asked again: the cached token.
            let again = try await agent.get(agent.imds("resource=api://orders"), headers: [("Metadata", "true")])
            #expect(again["access_token"] == system["access_token"])

            // IMDS with client_id and a resource msal-style percent-encoded twice.
            let user = try await agent.get(agent.imds("resource=api%253A%252F%252Forders&client_id=\(miAppId)"), headers: [("Metadata", "true")])
            #expect(user.status == 200, "\(user.json)")
            #expect(user["client_id"] == miAppId)
            #expect(user["resource"] == "api://orders")

            // An unknown resource: the server's refusal, as a 400.
            let unknown = try await agent.get(agent.imds("resource=api://nothing"), headers: [("Metadata", "true")])
            #expect(unknown.status == 400)
            #expect(unknown["error"] == "invalid_resource")
            #expect(unknown["error_description"]?.contains("AADSTS500011") == true)

            // App Service by resource id.
            let appService = try await agent.get(
                agent.appService("resource=api://orders&mi_res_id=\(FormParameters.percentEncode(miResourceId))"),
                headers: [("X-IDENTITY-HEADER", agent.endpoints.identityHeader)])
            #expect(appService.status == 200, "\(appService.json)")
            #expect(appService["client_id"] == miAppId)
            #expect(Int(appService["expires_on"] ?? "") ?? 0 > Int(Date().timeIntervalSince1970))

            // The socket: this test process's uid and executable are what the rule names.
            let socket = try await agent.get(agent.socket("resource=api://billing"))
            #expect(socket.status == 200, "\(socket.json)")
            #expect(socket["client_id"] == socketAppId)
            // An identity the rules hand to chosen processes is not served where processes cannot be told apart.
            let loopback = try await agent.get(agent.imds("resource=api://billing&client_id=\(socketAppId)"), headers: [("Metadata", "true")])
            #expect(loopback.status == 400)
            #expect(loopback["error_description"]?.contains("Unix socket") == true)

            // Key rotation: a new key, registered, saved, and used for the next token.
            let oldKid = agent.runtime.hostKey.value.kid
            try await agent.runtime.rotateKey()
            #expect(agent.runtime.hostKey.value.kid != oldKid)
            #expect(try state.readRegistration().kid == agent.runtime.hostKey.value.kid)
            #expect(try state.readKey().publicKey.thumbprint == agent.runtime.hostKey.value.key.publicKey.thumbprint)
            let afterRotation = try await agent.get(agent.imds("resource=api://billing"), headers: [("Metadata", "true")])
            #expect(afterRotation.status == 200, "\(afterRotation.json)")
            try await agent.runtime.refreshConfiguration()

            // The server goes away: cached tokens are still served, new ones cannot be had.
            await server.stop()
            let cached = try await agent.get(agent.imds("resource=api://orders"), headers: [("Metadata", "true")])
            #expect(cached["access_token"] == system["access_token"])
            let fresh = try await agent.get(agent.socket("resource=api://never-asked"))
            #expect(fresh.status == 503, "\(fresh.json)")
            let health = try await agent.get(agent.endpoints.imds + "/healthz")
            #expect(health["status"] == "degraded")
        } catch {
            await agent.stop()
            throw error
        }
        await agent.stop()
    }
}
