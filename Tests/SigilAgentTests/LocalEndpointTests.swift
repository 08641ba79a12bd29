import Foundation
@testable import SigilAgent
import SigilCore
import Testing

/// The refusals of the IMDS and App Service endpoints, on a real agent whose server is down:
/// none of these may reach the server, and none may hand out the system identity instead.
@Suite struct LocalEndpointTests {
    @Test func imdsWithoutMetadataHeaderIsRefusedInIMDSShape() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            let reply = try await agent.get(agent.imds("resource=api://orders"))
            #expect(reply.status == 400)
            #expect(reply["error"] == "invalid_request")
            #expect(reply["error_description"] == "Required metadata header not specified")
            let wrong = try await agent.get(agent.imds("resource=api://orders"), headers: [("Metadata", "false")])
            #expect(wrong.status == 400)
        }
    }

    @Test func onlyLocalClientsAreAnsweredNotRebindingPagesOrProxies() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            // A web page that rebound its domain to 127.0.0.1 sends its own Host.
            let rebound = try await agent.get(agent.imds("resource=api://orders"), headers: [("Metadata", "true"), ("Host", "evil.example")])
            #expect(rebound.status == 400)
            #expect(rebound["error_description"]?.contains("Host header must name the loopback address") == true, "\(rebound.json)")
            let proxied = try await agent.get(agent.imds("resource=api://orders"), headers: [("Metadata", "true"), ("X-Forwarded-For", "203.0.113.9")])
            #expect(proxied.status == 400)
            let appService = try await agent.get(
                agent.appService("resource=api://orders"), headers: [("X-IDENTITY-HEADER", agent.endpoints.identityHeader), ("Host", "evil.example:80")])
            #expect(appService.status == 400)
        }
    }

    @Test func imdsRefusesTwoSelectorsAndForeignSelectors() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            let orders = AgentFixture.ordersIdentity
            let two = try await agent.get(
                agent.imds("resource=api://orders&client_id=\(orders.appId)&object_id=\(orders.objectId)"), headers: [("Metadata", "true")])
            #expect(two.status == 400)
            #expect(two["error_description"]?.contains("at most one identity selector") == true)
            let twice = try await agent.get(agent.imds("resource=x&client_id=a&client_id=b"), headers: [("Metadata", "true")])
            #expect(twice.status == 400)
            // App Service's selector name on IMDS: refused, not ignored (ignoring it would answer
            // with the system identity).
            let foreign = try await agent.get(agent.imds("resource=api://orders&mi_res_id=\(orders.resourceId)"), headers: [("Metadata", "true")])
            #expect(foreign.status == 400)
            #expect(foreign["error_description"]?.contains("mi_res_id is not a selector here") == true)
        }
    }

    @Test func unknownSelectorIsRefusedNeverAnsweredWithTheSystemIdentity() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            for selector in ["client_id=99999999-9999-4999-8999-999999999999", "object_id=nobody", "msi_res_id=/tenants/t/userAssignedIdentities/none"] {
                let reply = try await agent.get(agent.imds("resource=api://orders&" + selector), headers: [("Metadata", "true")])
                #expect(reply.status == 400, "\(selector)")
                #expect(reply["error"] == "invalid_request")
                #expect(reply["error_description"]?.contains("is assigned to host host-1") == true, "\(reply.json)")
                #expect(reply["access_token"] == nil)
            }
            let appService = try await agent.get(agent.appService("resource=api://orders&principal_id=nobody"), headers: [("X-IDENTITY-HEADER", agent.endpoints.identityHeader)])
            #expect(appService.status == 400)
            #expect(appService.json.objectValue?["statusCode"]?.integerValue == 400)
        }
    }

    @Test func missingResourceIsRefused() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            let reply = try await agent.get(agent.endpoints.imds + ImdsRoute.tokenPath + "?api-version=2018-02-01", headers: [("Metadata", "true")])
            #expect(reply.status == 400)
            #expect(reply["error_description"] == "Required query variable 'resource' is missing")
        }
    }

    @Test func appServiceChecksTheIdentityHeader() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            let missing = try await agent.get(agent.appService("resource=api://orders"))
            #expect(missing.status == 400)
            #expect(missing.json.objectValue?["statusCode"]?.integerValue == 400)
            #expect(missing["message"] == "the X-IDENTITY-HEADER header is missing")
            let wrong = try await agent.get(agent.appService("resource=api://orders"), headers: [("X-IDENTITY-HEADER", "guess")])
            #expect(wrong.status == 400)
            #expect(wrong["message"] == "the X-IDENTITY-HEADER header is wrong")
            // The right header gets past the check; the server is down and nothing is cached: 503.
            let right = try await agent.get(agent.appService("resource=api://orders"), headers: [("X-IDENTITY-HEADER", agent.endpoints.identityHeader)])
            #expect(right.status == 503)
            #expect(right.json.objectValue?["statusCode"]?.integerValue == 503)
        }
    }

    @Test func serverDownWithNothingCachedIs503AndHealthDegraded() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            let reply = try await agent.get(agent.imds("resource=api://orders"), headers: [("Metadata", "true")])
            #expect(reply.status == 503)
            let health = try await agent.get(agent.endpoints.imds + "/healthz")
            #expect(health.status == 200)
            #expect(health["status"] == "degraded")
            #expect(health["reason"] != nil && health["since"] != nil)
        }
    }

    @Test func endpointsFileAndIdentityHeader() async throws {
        try await RunningAgent.with(try .offline()) { agent in
            let saved = try agent.runtime.state.readEndpoints()
            #expect(saved == agent.endpoints)
            #expect(agent.endpoints.imds.hasPrefix("http://127.0.0.1:"))
            #expect(agent.endpoints.appService.hasSuffix("/msi/token"))
            let mode = try FileManager.default.attributesOfItem(atPath: agent.runtime.state.endpointsPath)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let socketMode = try FileManager.default.attributesOfItem(atPath: agent.endpoints.socket)[.posixPermissions] as? Int
            #expect(socketMode == 0o666)
            #expect(agent.endpoints.identityHeader.count >= 40)
        }
    }

    @Test func resourceIsAcceptedPercentEncodedOrPlain() {
        #expect(LocalTokenRequest.normalizedResource("api://orders") == "api://orders")
        // msal's double encoding arrives still escaped after the query's own decoding.
        #expect(LocalTokenRequest.normalizedResource("api%3A%2F%2Forders") == "api://orders")
        #expect(LocalTokenRequest.normalizedResource("https://vault.azure.net") == "https://vault.azure.net")
        #expect(LocalTokenRequest.normalizedResource("api://a+b") == "api://a+b")
        #expect(LocalTokenRequest.normalizedResource("100%") == "100%")
    }

    @Test func nonLoopbackAddressesNeedAllowRemote() throws {
        var listeners = AgentListeners()
        listeners.imdsHost = "0.0.0.0"
        #expect(throws: AgentStateError.self) { try listeners.validate() }
        listeners.allowRemote = true
        try listeners.validate()
        #expect(AgentListeners.isLoopback("127.0.0.1") && AgentListeners.isLoopback("::1") && !AgentListeners.isLoopback("10.0.0.1"))
    }

    @Test func socketFileIsRemovedOnShutdown() async throws {
        let fixture = try AgentFixture.offline()
        defer { fixture.remove() }
        let agent = try await RunningAgent.start(fixture.state)
        #expect(FileManager.default.fileExists(atPath: agent.endpoints.socket))
        await agent.stop()
        #expect(!FileManager.default.fileExists(atPath: agent.endpoints.socket))
    }
}
