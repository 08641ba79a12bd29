import Crypto
import Foundation
import SigilCore
import SigilStore
import Testing

/// Every malformed, hostile or out-of-order token request gets the right OAuth error and status,
/// never a token, never a 500, and changes nothing (the attack cases were written first).
@Suite struct TokenBadInputTests {
    struct Case: Sendable {
        let name: String
        let status: Int
        let error: String
        let code: Int
        /// A phrase the description must contain, so the client learns what to fix.
        let says: String
        let request: @Sendable (World) async throws -> TestServer.Reply
    }

    static func form(_ world: World, _ pairs: [(String, String)], headers: [(String, String)] = []) async throws -> TestServer.Reply {
        try await world.server.token(pairs, headers: headers)
    }

    static func assertion(_ world: World, _ assertion: String, clientId: String? = nil) async throws -> TestServer.Reply {
        try await world.server.token(world.assertionForm(assertion, clientId: clientId))
    }

    static func replacing(_ pairs: [(String, String)], _ name: String, with value: String?) -> [(String, String)] {
        var result = pairs.filter { $0.0 != name }
        if let value { result.append((name, value)) }
        return result
    }

    static let cases: [Case] = [
        Case(name: "missing grant_type", status: 400, error: "invalid_request", code: 900144, says: "'grant_type'") { world in
            try await form(world, replacing(world.secretForm, "grant_type", with: nil))
        },
        Case(name: "missing scope", status: 400, error: "invalid_request", code: 900144, says: "'scope'") { world in
            try await form(world, replacing(world.secretForm, "scope", with: nil))
        },
        Case(name: "missing client_id", status: 400, error: "invalid_request", code: 900144, says: "'client_id'") { world in
            try await form(world, replacing(world.secretForm, "client_id", with: nil))
        },
        Case(name: "duplicate parameter", status: 400, error: "invalid_request", code: 90015, says: "'scope' is given more than once") { world in
            try await form(world, world.secretForm + [("scope", "api://orders/.default")])
        },
        Case(name: "unknown grant type", status: 400, error: "unsupported_grant_type", code: 70003, says: "'urn:ietf:params:oauth:grant-type:device_code'") { world in
            try await form(world, replacing(world.secretForm, "grant_type", with: "urn:ietf:params:oauth:grant-type:device_code"))
        },
        Case(name: "unknown client", status: 400, error: "unauthorized_client", code: 700016, says: "was not found in the directory") { world in
            try await form(world, replacing(world.secretForm, "client_id", with: UUID().uuidString.lowercased()))
        },
        Case(name: "wrong secret", status: 401, error: "invalid_client", code: 7000215, says: "Invalid client secret provided") { world in
            try await form(world, replacing(world.secretForm, "client_secret", with: SigilSecretFormat.generate(.clientSecret)))
        },
        Case(name: "malformed secret", status: 401, error: "invalid_client", code: 7000215, says: "its checksum does not match") { world in
            var broken = Array(world.secret)
            broken[10] = broken[10] == "a" ? "b" : "a"
            return try await form(world, replacing(world.secretForm, "client_secret", with: String(broken)))
        },
        Case(name: "secret that is not a Sigil secret", status: 401, error: "invalid_client", code: 7000215, says: "does not start with a Sigil prefix") { world in
            try await form(world, replacing(world.secretForm, "client_secret", with: "7Q~notours"))
        },
        Case(name: "secret of another app", status: 401, error: "invalid_client", code: 7000215, says: "Invalid client secret") { world in
            try await form(world, replacing(world.secretForm, "client_id", with: world.intruderId))
        },
        Case(name: "secret in header and body", status: 400, error: "invalid_request", code: 90015, says: "client_secret_basic, client_secret_post") { world in
            let basic = "Basic " + Data("\(world.clientId):\(world.secret)".utf8).base64EncodedString()
            return try await form(world, world.secretForm, headers: [("Authorization", basic)])
        },
        Case(name: "secret and assertion", status: 400, error: "invalid_request", code: 90015, says: "more than one way") { world in
            try await form(world, world.secretForm + [("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", try world.jwkAssertion())])
        },
        Case(name: "no credential", status: 401, error: "invalid_client", code: 7000218, says: "'client_assertion' or 'client_secret'") { world in
            try await form(world, replacing(world.secretForm, "client_secret", with: nil))
        },
        Case(name: "malformed Basic header", status: 401, error: "invalid_client", code: 7000215, says: "not base64") { world in
            try await form(world, [("grant_type", "client_credentials"), ("scope", "api://orders/.default")], headers: [("Authorization", "Basic %%%")])
        },
        Case(name: "wrong client_assertion_type", status: 400, error: "invalid_request", code: 700025, says: "not supported") { world in
            try await form(world, replacing(world.assertionForm(try world.jwkAssertion()), "client_assertion_type", with: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"))
        },
        Case(name: "alg none", status: 401, error: "invalid_client", code: 50027, says: "alg 'none' is not accepted") { world in
            try await assertion(world, Assertions.forge(header: ["alg": "none", "kid": .string(world.jwkKid)], claims: .object(world.claims { _ in }), signature: Data()))
        },
        Case(name: "HS256 keyed with the certificate's public key", status: 401, error: "invalid_client", code: 50027, says: "alg 'HS256' is not accepted") { world in
            guard case .rsa(let rsa) = world.rsaKey else { throw TestFailure("not RSA") }
            let header: JSONValue = ["alg": "HS256", "x5t": .string(Assertions.x5t(world.rsaCertificate.der))]
            let input = Base64URL.encode(Data(header.serialized().utf8)) + "." + Base64URL.encode(Data(JSONValue.object(world.claims { _ in }).serialized().utf8))
            let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: rsa.publicKey.derRepresentation))
            return try await assertion(world, input + "." + Base64URL.encode(Data(mac)))
        },
        Case(name: "RS256 header over an EC key", status: 401, error: "invalid_client", code: 700027, says: "does not fit the registered EC P-256 key") { world in
            try await assertion(world, try Assertions.sign(claims: world.claims { _ in }, key: world.rsaKey, header: ["kid": .string(world.jwkKid)]))
        },
        Case(name: "unknown kid", status: 401, error: "invalid_client", code: 700027, says: "has kid 'no-such-key'") { world in
            try await assertion(world, try world.jwkAssertion(header: ["kid": "no-such-key"]))
        },
        Case(name: "unknown x5t", status: 401, error: "invalid_client", code: 700027, says: "has x5t") { world in
            try await assertion(world, try Assertions.sign(claims: world.claims { _ in }, key: world.rsaKey, header: ["x5t": .string(Assertions.x5t([1, 2, 3]))]))
        },
        Case(name: "no key named in the header", status: 401, error: "invalid_client", code: 700027, says: "names no key") { world in
            try await assertion(world, try Assertions.sign(claims: world.claims { _ in }, key: world.jwkKey, header: [:]))
        },
        Case(name: "embedded jwk of the attacker's key", status: 401, error: "invalid_client", code: 700027, says: "signature does not verify") { world in
            let attacker = try SigningKey.generate(for: .es256)
            return try await assertion(world, try Assertions.sign(
                claims: world.claims { _ in }, key: attacker, header: ["kid": .string(world.jwkKid), "jwk": .object(attacker.publicKey.jwkMembers)]))
        },
        Case(name: "x5c of an unregistered certificate", status: 401, error: "invalid_client", code: 700027, says: "is not registered") { world in
            let attacker = try SigningKey.generate(for: .rs256)
            let certificate = try Assertions.certificate(for: attacker)
            return try await assertion(world, try Assertions.sign(
                claims: world.claims { _ in }, key: attacker, header: ["x5c": [.string(Data(certificate.der).base64EncodedString())]]))
        },
        Case(name: "assertion signed with another app's key", status: 401, error: "invalid_client", code: 700027, says: "has kid 'intruder-key'") { world in
            try await assertion(world, try Assertions.sign(claims: world.claims { _ in }, key: world.intruderKey, header: ["kid": "intruder-key"]))
        },
        Case(name: "another app's assertion under this client_id", status: 401, error: "invalid_client", code: 700021, says: "'iss' is") { world in
            // Signed correctly by the intruder for itself, then presented as billing.
            let claims = Assertions.claims(clientId: world.intruderId, audience: world.server.tokenEndpoint)
            var header: [String: JSONValue] = ["kid": .string(world.jwkKid)]
            header["kid"] = .string(world.jwkKid)
            return try await assertion(world, try Assertions.sign(claims: claims, key: world.jwkKey, header: header))
        },
        Case(name: "expired assertion", status: 401, error: "invalid_client", code: 700024, says: "it expired at") { world in
            try await assertion(world, try world.jwkAssertion(claims: world.claims { $0["exp"] = .integer(Int64(Date().timeIntervalSince1970) - 900) }))
        },
        Case(name: "not yet valid assertion", status: 401, error: "invalid_client", code: 700024, says: "'nbf'") { world in
            try await assertion(world, try world.jwkAssertion(claims: world.claims { $0["nbf"] = .integer(Int64(Date().timeIntervalSince1970) + 900) }))
        },
        Case(name: "far-future exp", status: 401, error: "invalid_client", code: 700024, says: "must be short-lived") { world in
            try await assertion(world, try world.jwkAssertion(claims: world.claims { $0["exp"] = .integer(Int64(Date().timeIntervalSince1970) + 86_400 * 365) }))
        },
        Case(name: "wrong aud", status: 401, error: "invalid_client", code: 700021, says: "must be the token endpoint") { world in
            try await assertion(world, try world.jwkAssertion(claims: world.claims { $0["aud"] = "https://login.example.com/token" }))
        },
        Case(name: "wrong iss", status: 401, error: "invalid_client", code: 700021, says: "'iss' is 'someone-else'") { world in
            try await assertion(world, try world.jwkAssertion(claims: world.claims { $0["iss"] = "someone-else" }))
        },
        Case(name: "wrong sub", status: 401, error: "invalid_client", code: 700021, says: "'sub' is 'someone-else'") { world in
            try await assertion(world, try world.jwkAssertion(claims: world.claims { $0["sub"] = "someone-else" }))
        },
        Case(name: "missing jti", status: 401, error: "invalid_client", code: 700021, says: "no 'jti'") { world in
            try await assertion(world, try world.jwkAssertion(claims: world.claims { $0["jti"] = nil }))
        },
        Case(name: "replayed jti", status: 401, error: "invalid_client", code: 700023, says: "already used") { world in
            let assertion = try world.jwkAssertion()
            let first = try await Self.assertion(world, assertion)
            guard first.status == 200 else { throw TestFailure("first use refused: \(first.json)") }
            return try await Self.assertion(world, assertion)
        },
        Case(name: "truncated assertion", status: 401, error: "invalid_client", code: 50027, says: "3 dot-separated parts") { world in
            let assertion = try world.jwkAssertion()
            return try await Self.assertion(world, String(assertion[..<assertion.lastIndex(of: ".")!]))
        },
        Case(name: "non-base64url assertion", status: 401, error: "invalid_client", code: 50027, says: "header is not base64url") { world in
            try await assertion(world, "!!!." + String(try world.jwkAssertion().split(separator: ".", maxSplits: 1)[1]))
        },
        Case(name: "deeply nested claims", status: 401, error: "invalid_client", code: 50027, says: "nested more than 32 levels") { world in
            let payload = "{\"a\":" + String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000) + "}"
            let header = Base64URL.encode(Data(#"{"alg":"ES256","kid":"billing-key-1"}"#.utf8))
            return try await assertion(world, header + "." + Base64URL.encode(Data(payload.utf8)) + ".AAAA")
        },
        Case(name: "duplicate alg in the header", status: 401, error: "invalid_client", code: 50027, says: "duplicate member name 'alg'") { world in
            let header = Base64URL.encode(Data(#"{"alg":"ES256","alg":"none","kid":"billing-key-1"}"#.utf8))
            return try await assertion(world, header + "." + Base64URL.encode(Data(JSONValue.object(world.claims { _ in }).serialized().utf8)) + ".")
        },
        Case(name: "1 MB body", status: 413, error: "invalid_request", code: 90014, says: "larger than 65536 bytes") { world in
            try await form(world, world.secretForm + [("padding", String(repeating: "x", count: 1 << 20))])
        },
        Case(name: "unknown resource", status: 400, error: "invalid_resource", code: 500011, says: "api://nowhere") { world in
            try await form(world, replacing(world.secretForm, "scope", with: "api://nowhere/.default"))
        },
        Case(name: "scope without /.default", status: 400, error: "invalid_scope", code: 1002012, says: "must be RESOURCE/.default") { world in
            try await form(world, replacing(world.secretForm, "scope", with: "api://orders/Orders.Read"))
        },
        Case(name: "JSON body", status: 400, error: "invalid_request", code: 900144, says: "application/x-www-form-urlencoded") { world in
            try await world.server.send("POST", world.server.tokenEndpoint, body: Data(#"{"grant_type":"client_credentials"}"#.utf8), headers: [("Content-Type", "application/json")])
        },
        Case(name: "invalid percent-encoding", status: 400, error: "invalid_request", code: 90014, says: "not valid percent-encoded UTF-8") { world in
            try await world.server.send(
                "POST", world.server.tokenEndpoint, body: Data("grant_type=client_credentials&scope=%E0%A4%A".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
        },
        Case(name: "caller without the required role", status: 400, error: "invalid_grant", code: 501051, says: "is not assigned to a role") { world in
            try await world.server.createApp("no-roles")
            let (_, secret) = try await world.server.addSecret("no-roles")
            let appId = try await world.server.admin("GET", "applications/no-roles").json["appId"]!.stringValue!
            return try await form(world, [("grant_type", "client_credentials"), ("client_id", appId), ("client_secret", secret), ("scope", "api://orders/.default")])
        },
        Case(name: "removed secret", status: 401, error: "invalid_client", code: 7000215, says: "Invalid client secret") { world in
            let (keyId, secret) = try await world.server.addSecret("intruder")
            let removed = try await world.server.admin("DELETE", "applications/intruder/passwordCredentials/\(keyId)")
            guard removed.status == 204 else { throw TestFailure("remove: \(removed.status)") }
            return try await form(world, [("grant_type", "client_credentials"), ("client_id", world.intruderId), ("client_secret", secret), ("scope", "api://orders/.default")])
        },
        Case(name: "expired secret", status: 401, error: "invalid_client", code: 7000222, says: "are expired") { world in
            let secret = SigilSecretFormat.generate(.clientSecret)
            let app = try #require(try await world.server.store.application(tenantId: world.server.tenantId, appId: world.intruderId))
            let past = Date().addingTimeInterval(-86_400)
            try await world.server.store.addPasswordCredential(
                PasswordCredential(keyId: UUID().uuidString.lowercased(), applicationId: app.objectId, displayName: "old", hint: "old",
                    hash: SecretHash.make(for: secret), startDateTime: past.addingTimeInterval(-86_400), endDateTime: past),
                audit: AuditEvent(time: Date(), tenantId: world.server.tenantId, actorId: "test", actorName: "test", action: "seed",
                    targetType: "application", targetId: app.objectId, ipAddress: "127.0.0.1", correlationId: "seed"))
            return try await form(world, [("grant_type", "client_credentials"), ("client_id", world.intruderId), ("client_secret", secret), ("scope", "api://orders/.default")])
        },
        Case(name: "disabled app", status: 400, error: "unauthorized_client", code: 7000112, says: "is disabled") { world in
            let disabled = try await world.server.admin("PATCH", "applications/billing", json: ["accountEnabled": false])
            guard disabled.status == 200 else { throw TestFailure("disable: \(disabled.json)") }
            let reply = try await form(world, world.secretForm)
            _ = try await world.server.admin("PATCH", "applications/billing", json: ["accountEnabled": true])
            return reply
        },
        Case(name: "unknown tenant", status: 400, error: "invalid_request", code: 90002, says: "not found") { world in
            try await world.server.send(
                "POST", "/\(UUID().uuidString.lowercased())/oauth2/v2.0/token", body: Data(FormParameters.encode(world.secretForm).utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
        },
        Case(name: "NUL in a parameter", status: 400, error: "invalid_request", code: 90014, says: "without NUL") { world in
            try await world.server.send(
                "POST", world.server.tokenEndpoint, body: Data("grant_type=client_credentials&client_id=%00&client_secret=x&scope=a/.default".utf8),
                headers: [("Content-Type", "application/x-www-form-urlencoded")])
        },
        Case(name: "60 KB grant type not echoed back", status: 400, error: "unsupported_grant_type", code: 70003, says: "'[redacted: 60000 characters]'; this endpoint supports") { world in
            try await form(world, replacing(world.secretForm, "grant_type", with: String(repeating: "g", count: 60_000)))
        },
        Case(name: "crit header", status: 401, error: "invalid_client", code: 50027, says: "'crit' header") { world in
            try await assertion(world, try world.jwkAssertion(header: ["crit": ["exp"]]))
        },
        Case(name: "certificate not valid yet", status: 401, error: "invalid_client", code: 700027, says: "is not valid before") { world in
            let key = try SigningKey.generate(for: .es256)
            let future = try Assertions.certificate(for: key, notValidAfter: Date().addingTimeInterval(86_400 * 60), notValidBefore: Date().addingTimeInterval(86_400 * 7))
            _ = try await world.server.addKey("intruder", ["type": "AsymmetricX509Cert", "key": .string(future.pem)])
            let claims = Assertions.claims(clientId: world.intruderId, audience: world.server.tokenEndpoint)
            return try await world.server.token(world.assertionForm(
                try Assertions.sign(claims: claims, key: key, header: ["x5t#S256": .string(Assertions.x5tS256(future.der))]), clientId: world.intruderId))
        },
        Case(name: "GET on the token endpoint", status: 405, error: "invalid_request", code: 900561, says: "only accepts POST") { world in
            try await world.server.send("GET", world.server.tokenEndpoint)
        },
    ]

    @Test func everyBadRequestGetsItsOAuthError() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let appsBefore = try await server.admin("GET", "applications").json["value"]?.arrayValue?.count
            for testCase in Self.cases {
                let reply = try await testCase.request(world)
                let json = reply.json
                #expect(reply.status == testCase.status, "\(testCase.name): status \(reply.status) \(json)")
                #expect(json["error"]?.stringValue == testCase.error, "\(testCase.name): \(json)")
                #expect(json["error_codes"] == [.integer(Int64(testCase.code))], "\(testCase.name): \(json)")
                #expect(json["access_token"] == nil, "\(testCase.name) issued a token")
                let description = json["error_description"]?.stringValue ?? ""
                #expect(description.count < 1200, "\(testCase.name): a \(description.count)-character description")
                #expect(description.contains(testCase.says), "\(testCase.name): '\(description)' does not say '\(testCase.says)'")
                #expect(description.hasPrefix("AADSTS\(testCase.code):"), "\(testCase.name)")
                #expect(!description.contains(world.secret), "\(testCase.name) leaked the secret")
                for field in ["timestamp", "trace_id", "correlation_id"] {
                    #expect(json[field]?.stringValue?.isEmpty == false, "\(testCase.name): no \(field)")
                }
            }
            // None of it created anything beyond the one app a case made on purpose.
            let appsAfter = try await server.admin("GET", "applications").json["value"]?.arrayValue?.count
            #expect(appsAfter == appsBefore.map { $0 + 1 })
            // The good path still works after all that.
            #expect(try await server.token(world.secretForm).status == 200)
            #expect(Self.cases.count >= 40)
        }
    }

    @Test func referenceHeadersAreNeverFetched() async throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        try await TestServer.with { server in
            let world = try await World.make(server)
            let url = "http://127.0.0.1:\(listener.port)/keys"
            let attacker = try SigningKey.generate(for: .es256)
            for header in ["jku", "x5u"] {
                let forged = try Assertions.sign(claims: world.claims { _ in }, key: attacker, header: [header: .string(url), "kid": "attacker"])
                let reply = try await server.token(world.assertionForm(forged))
                #expect(reply.status == 401)
                #expect(reply.json["error_codes"] == [700027])
            }
            // A genuine assertion that also carries jku is accepted on its registered key alone.
            let genuine = try world.jwkAssertion(header: ["jku": .string(url)])
            #expect(try await server.token(world.assertionForm(genuine)).status == 200)
        }
        #expect(listener.connectionsAttempted() == 0)
    }
}
