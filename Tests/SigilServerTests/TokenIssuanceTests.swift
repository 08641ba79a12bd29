import Foundation
import SigilCore
import Testing

/// Tokens issued for every client authentication method, checked the way a resource server
/// checks them: against the published JWKS.
@Suite struct TokenIssuanceTests {
    @Test func everyClientAuthenticationMethodGetsAVerifiableToken() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let basic = "Basic " + Data("\(world.clientId):\(world.secret)".utf8).base64EncodedString()
            let rsa = world.rsaCertificate.der
            let cases: [(name: String, form: [(String, String)], headers: [(String, String)], credentialType: String)] = [
                ("client_secret_post", world.secretForm, [], "clientSecret"),
                ("client_secret_basic", [("grant_type", "client_credentials"), ("scope", "api://orders/.default")], [("Authorization", basic)], "clientSecret"),
                ("RS256 with x5t", world.assertionForm(try Assertions.sign(
                    clientId: world.clientId, audience: server.tokenEndpoint, key: world.rsaKey, header: ["x5t": .string(Assertions.x5t(rsa))])), [], "certificate"),
                ("PS256 with x5t#S256", world.assertionForm(try Assertions.sign(
                    claims: Assertions.claims(clientId: world.clientId, audience: server.tokenEndpoint), key: world.rsaKey,
                    header: ["x5t#S256": .string(Assertions.x5tS256(rsa))], pss: true)), [], "certificate"),
                ("msal style: PS256, padded x5t#S256, fractional exp", world.assertionForm(try Assertions.sign(
                    claims: world.claims { $0["exp"] = .number(Date().timeIntervalSince1970 + 600.5) }, key: world.rsaKey,
                    header: ["x5t#S256": .string(Assertions.x5tS256(rsa) + "=")], pss: true)), [], "certificate"),
                ("padded x5t", world.assertionForm(try Assertions.sign(
                    clientId: world.clientId, audience: server.tokenEndpoint, key: world.rsaKey, header: ["x5t": .string(Assertions.x5t(rsa) + "=")])), [], "certificate"),
                ("RS256 with x5c", world.assertionForm(try Assertions.sign(
                    clientId: world.clientId, audience: server.tokenEndpoint, key: world.rsaKey,
                    header: ["x5c": [.string(Data(rsa).base64EncodedString())]])), [], "certificate"),
                ("ES256 certificate", world.assertionForm(try Assertions.sign(
                    clientId: world.clientId, audience: server.tokenEndpoint, key: world.ecKey,
                    header: ["x5t#S256": .string(Assertions.x5tS256(world.ecCertificate.der))])), [], "certificate"),
                ("ES256 JWK with kid", world.assertionForm(try world.jwkAssertion()), [], "clientAssertion"),
                ("assertion without client_id", Array(world.assertionForm(try world.jwkAssertion()).filter { $0.0 != "client_id" }), [], "clientAssertion"),
                ("v1 token endpoint audience", world.assertionForm(try world.jwkAssertion(claims: world.claims {
                    $0["aud"] = .string("\(server.baseURL)/\(server.tenantId)/oauth2/token")
                })), [], "clientAssertion"),
            ]
            for testCase in cases {
                let reply = try await server.token(testCase.form + [("client_info", "1")], headers: testCase.headers)
                #expect(reply.status == 200, "\(testCase.name): \(reply.json)")
                #expect(reply.json["token_type"] == "Bearer", "\(testCase.name)")
                #expect(reply.json["expires_in"]?.integerValue == 3599, "\(testCase.name)")
                #expect(reply.header("Cache-Control") == "no-store", "\(testCase.name)")
                guard let token = reply.json["access_token"]?.stringValue else { continue }
                let claims = try await server.verifiedClaims(token)
                #expect(claims["iss"]?.stringValue == "\(server.baseURL)/\(server.tenantId)/v2.0", "\(testCase.name)")
                #expect(claims["aud"]?.stringValue == world.resourceAppId, "\(testCase.name)")
                #expect(claims["appid"]?.stringValue == world.clientId, "\(testCase.name)")
                #expect(claims["azp"]?.stringValue == world.clientId, "\(testCase.name)")
                #expect(claims["tid"]?.stringValue == server.tenantId, "\(testCase.name)")
                #expect(claims["idtyp"] == "app", "\(testCase.name)")
                #expect(claims["roles"] == ["Orders.Read"], "\(testCase.name)")
                #expect(claims["cred_type"]?.stringValue == testCase.credentialType, "\(testCase.name)")
                #expect(claims["jti"]?.stringValue?.isEmpty == false, "\(testCase.name)")
                let iat = claims["iat"]?.integerValue ?? 0
                #expect(claims["exp"]?.integerValue == iat + 3600, "\(testCase.name)")
                #expect(claims["sub"] == claims["oid"], "\(testCase.name)")
                #expect(try CompactJWS(parsing: token).header["alg"] == "ES256", "\(testCase.name)")
            }
        }
    }

    @Test func aResourceThatAsksForRS256GetsRS256Tokens() async throws {
        try await TestServer.with { server in
            let resource = try await server.createApp("legacy-api", identifierUri: "api://legacy", tokenAlgorithm: "RS256")
            try await server.createApp("caller")
            let (_, secret) = try await server.addSecret("caller")
            let callerId = try await server.admin("GET", "applications/caller").json["appId"]!.stringValue!
            // The resource may also be named by its appId.
            for scope in ["api://legacy/.default", "\(resource["appId"]!.stringValue!)/.default"] {
                let reply = try await server.token([("grant_type", "client_credentials"), ("client_id", callerId), ("client_secret", secret), ("scope", scope)])
                let token = try #require(reply.json["access_token"]?.stringValue, "\(reply.json)")
                #expect(try CompactJWS(parsing: token).header["alg"] == "RS256")
                let claims = try await server.verifiedClaims(token)
                #expect(claims["aud"] == resource["appId"])
                // No roles were granted and none are required: the claim is absent.
                #expect(claims["roles"] == nil)
            }
        }
    }

    @Test func discoveryPointsAtTheEndpointsThatServeIt() async throws {
        try await TestServer.with { server in
            let document = try await server.send("GET", "/\(server.tenantId)/v2.0/.well-known/openid-configuration").json
            #expect(document["issuer"]?.stringValue == "\(server.baseURL)/\(server.tenantId)/v2.0")
            #expect(document["token_endpoint"]?.stringValue == server.tokenEndpoint)
            #expect(document["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "private_key_jwt"])
            let jwksURI = try #require(document["jwks_uri"]?.stringValue)
            let keys = try await server.send("GET", jwksURI).json["keys"]?.arrayValue ?? []
            // Active and next key for each of ES256 and RS256.
            #expect(keys.count == 4)
            for key in keys {
                #expect(key["use"] == "sig")
                #expect(key["kid"]?.stringValue?.isEmpty == false)
                #expect(key["alg"] == "ES256" || key["alg"] == "RS256")
                #expect(key["d"] == nil)
            }
            let rfc8414 = try await server.send("GET", "/.well-known/oauth-authorization-server/\(server.tenantId)/v2.0").json
            #expect(rfc8414["issuer"] == document["issuer"])
            let unknown = try await server.send("GET", "/\(UUID().uuidString.lowercased())/v2.0/.well-known/openid-configuration")
            #expect(unknown.status == 404)
        }
    }

    @Test func aKeyPublishedForLessThanTheJWKSCacheLifetimeNeverSigns() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let jwks = try await server.send("GET", "/\(server.tenantId)/discovery/v2.0/keys")
            #expect(jwks.header("Cache-Control") == "public, max-age=300")
            let signing = { try CompactJWS(parsing: try #require(try await server.token(world.secretForm).json["access_token"]?.stringValue)).header["kid"] }

            // Right after the first start the next key is seconds old.
            let early = try await server.admin("POST", "signingKeys/rotate", json: ["algorithm": "ES256"])
            #expect(early.status == 409)
            #expect(early.json["error"]?["message"]?.stringValue?.contains("may cache the JWKS without it for up to 3") == true, "\(early.json)")

            // Once it has been published long enough it may sign (the ring is told the time)…
            let before = try await signing()
            #expect(try await server.server.keys.rotate(.es256, now: Date().addingTimeInterval(400)))
            let promoted = try await signing()
            #expect(promoted != before)
            // …but a second rotation straight after would promote the key just published: refused,
            // and nothing changes, for either algorithm.
            let keysBefore = try await server.admin("GET", "signingKeys").json
            let quick = try await server.admin("POST", "signingKeys/rotate")
            #expect(quick.status == 409)
            #expect(try await server.admin("GET", "signingKeys").json == keysBefore)
            #expect(try await signing() == promoted)
        }
    }

    @Test func rotationPublishesTheNextKeyBeforeItSignsAndKeepsTheOldOne() async throws {
        // Resource servers told not to cache the JWKS: the next key may sign once every replica
        // publishes it (on PostgreSQL, after one key refresh).
        try await TestServer.with({ $0.jwksMaxAge = 0; $0.keyRefreshInterval = .seconds(1) }) { server in
            let world = try await World.make(server)
            try await Task.sleep(for: .seconds(1.1))
            let before = try await server.jwks()
            let oldToken = try #require(try await server.token(world.secretForm).json["access_token"]?.stringValue)
            let oldKid = try #require(try CompactJWS(parsing: oldToken).header["kid"]?.stringValue)

            let rotated = try await server.admin("POST", "signingKeys/rotate", json: ["algorithm": "ES256"])
            #expect(rotated.status == 200)
            let newToken = try #require(try await server.token(world.secretForm).json["access_token"]?.stringValue)
            let newKid = try #require(try CompactJWS(parsing: newToken).header["kid"]?.stringValue)
            #expect(newKid != oldKid)
            #expect(before[newKid] != nil, "the key that signs after rotation was published before it")
            // The token signed before the rotation still validates against the JWKS.
            #expect(try await server.verifiedClaims(oldToken)["appid"]?.stringValue == world.clientId)
            #expect(try await server.verifiedClaims(newToken)["appid"]?.stringValue == world.clientId)
            let states = Dictionary(uniqueKeysWithValues: (rotated.json["value"]?.arrayValue ?? []).map { ($0["kid"]!.stringValue!, $0["state"]!.stringValue!) })
            #expect(states[oldKid] == "retired")
            #expect(states[newKid] == "active")
            #expect(states.values.filter { $0 == "next" }.count == 2)
        }
    }

    @Test func theSignInLogRecordsSuccessesAndFailures() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            #expect(try await server.token(world.secretForm, headers: [("User-Agent", "billing/1.0"), ("client-request-id", "6f0c7c3e-7a9a-4a8e-9c55-1b7c3b1b0c2d")]).status == 200)
            var wrong = world.secretForm
            wrong[2].1 = SigilSecretFormat.generate(.clientSecret)
            #expect(try await server.token(wrong).status == 401)

            let logs = try await server.admin("GET", "signInLogs?appId=\(world.clientId)").json["value"]?.arrayValue ?? []
            #expect(logs.count == 2)
            let failure = try #require(logs.first { $0["status"]?["succeeded"] == false })
            #expect(failure["status"]?["errorCode"]?.integerValue == 7000215)
            let success = try #require(logs.first { $0["status"]?["succeeded"] == true })
            #expect(success["clientCredentialType"] == "clientSecret")
            #expect(success["credentialKeyId"]?.stringValue == world.secretKeyId)
            #expect(success["resourceDisplayName"] == "api://orders")
            #expect(success["resourceId"]?.stringValue == world.resourceAppId)
            #expect(success["userAgent"] == "billing/1.0")
            #expect(success["ipAddress"] == "127.0.0.1")
            #expect(success["correlationId"] == "6f0c7c3e-7a9a-4a8e-9c55-1b7c3b1b0c2d")
            #expect(success["appDisplayName"] == "billing")

            let failures = try await server.admin("GET", "signInLogs?result=failure").json["value"]?.arrayValue ?? []
            #expect(failures.allSatisfy { $0["status"]?["succeeded"] == false })
            #expect(failures.contains { $0["appId"]?.stringValue == world.clientId })
            let future = try await server.admin("GET", "signInLogs?since=2999-01-01T00:00:00Z").json["value"]?.arrayValue ?? []
            #expect(future.isEmpty)
            // Secrets never reach the log.
            let raw = try await server.admin("GET", "signInLogs").body
            #expect(!String(decoding: raw, as: UTF8.self).contains(world.secret))
            #expect(!String(decoding: raw, as: UTF8.self).contains(wrong[2].1))
        }
    }
}
