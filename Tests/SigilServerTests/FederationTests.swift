import Foundation
import SigilCore
import Testing

/// Workload identity federation through the real token endpoint, with a real HTTPS issuer on a
/// loopback port: what works, and every hostile token or issuer the issue lists.
@Suite struct FederationTests {
    /// A server whose outbound fetches give up after 2 s, an issuer it trusts, and an app
    /// `ci-deployer` (granted Orders.Read on api://orders) trusting `repo:acme/api:ref:refs/heads/main`.
    struct Setup {
        let server: TestServer
        let issuer: TestIssuer
        let clientId: String
        let subject = "repo:acme/api:ref:refs/heads/main"

        func form(_ assertion: String, clientId: String? = nil) -> [(String, String)] {
            [
                ("grant_type", "client_credentials"), ("client_id", clientId ?? self.clientId), ("scope", "api://orders/.default"),
                ("client_assertion_type", ClientCredentialsRequest.assertionType), ("client_assertion", assertion),
            ]
        }

        func exchange(_ assertion: String) async throws -> TestServer.Reply { try await server.token(form(assertion)) }

        func addCredential(_ body: JSONValue, app: String = "ci-deployer") async throws -> TestServer.Reply {
            try await server.admin("POST", "applications/\(app)/federatedIdentityCredentials", json: body)
        }
    }

    static func with(_ body: (Setup) async throws -> Void) async throws {
        let issuer = try await TestIssuer.start()
        defer { issuer.stop() }
        try await TestServer.with({ configuration in
            configuration.outboundLimits.connectTimeout = .seconds(1)
            configuration.outboundLimits.totalTimeout = .seconds(2)
        }) { server in
            _ = try await server.createApp("orders", identifierUri: "api://orders", roleRequired: true)
            let client = try await server.createApp("ci-deployer")
            try await server.grant("ci-deployer", "orders", role: "Orders.Read")
            let trust = try await server.admin("POST", "trustedIssuers", json: ["issuer": .string(issuer.url), "caCertificate": .string(issuer.caPEM)])
            #expect(trust.status == 201, "\(trust.json)")
            let setup = Setup(server: server, issuer: issuer, clientId: client["appId"]!.stringValue!)
            let added = try await setup.addCredential(["name": "main-branch", "issuer": .string(issuer.url), "subject": .string(setup.subject)])
            #expect(added.status == 201, "\(added.json)")
            try await body(setup)
        }
    }

    static func expectRefused(_ reply: TestServer.Reply, code: Int, says: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == 401, "\(reply.json)", sourceLocation: sourceLocation)
        #expect(reply.json["access_token"] == nil, sourceLocation: sourceLocation)
        #expect(reply.json["error_codes"]?.arrayValue?.first?.integerValue == Int64(code), "\(reply.json)", sourceLocation: sourceLocation)
        let description = reply.json["error_description"]?.stringValue ?? ""
        #expect(description.contains(says), "\(description)", sourceLocation: sourceLocation)
    }

    @Test func everyKeyTypeExchangesForATokenAndTheSameTokenMayBeShownAgain() async throws {
        try await Self.with { setup in
            let tokens = [
                try setup.issuer.token(subject: setup.subject),
                try Assertions.sign(
                    claims: try CompactJWS(parsing: setup.issuer.token(subject: setup.subject)).claims, key: setup.issuer.rsa,
                    header: ["kid": .string(setup.issuer.kid(setup.issuer.rsa))], pss: true),
                try setup.issuer.token(subject: setup.subject, key: setup.issuer.ec),
                try setup.issuer.edToken(subject: setup.subject),
            ]
            for token in tokens {
                for _ in 0..<2 {  // reuse is allowed: Kubernetes and CI tokens are presented until they expire
                    let reply = try await setup.exchange(token)
                    #expect(reply.status == 200, "\(reply.json)")
                    let claims = try await setup.server.verifiedClaims(reply.json["access_token"]!.stringValue!)
                    #expect(claims["cred_type"] == "federatedIdentityCredential")
                    #expect(claims["appid"]?.stringValue == setup.clientId)
                    #expect(claims["roles"] == ["Orders.Read"])
                }
            }
            #expect(setup.issuer.requests("jwks") == 1, "one JWKS fetch serves every request while the keys are fresh")
            let log = try await setup.server.admin("GET", "signInLogs?appId=\(setup.clientId)&result=success")
            let latest = log.json["value"]?.arrayValue?.first
            #expect(latest?["clientCredentialType"] == "federatedIdentityCredential")
            #expect(latest?["federatedTokenIssuer"]?.stringValue == setup.issuer.url)
            #expect(latest?["federatedTokenSubject"]?.stringValue == setup.subject)
            #expect(latest?["federatedCredentialId"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func claimsExpressionsMatchGitHubStyleClaims() async throws {
        try await Self.with { setup in
            let added = try await setup.addCredential([
                "name": "any-release", "issuer": .string(setup.issuer.url),
                "claimsMatchingExpression": ["value": "claims['sub'] matches 'repo:acme/api:ref:refs/tags/v*' and claims['job_workflow_ref'] matches 'acme/workflows/.github/workflows/deploy.yml@refs/heads/*'", "languageVersion": 1],
            ])
            #expect(added.status == 201, "\(added.json)")
            let good = try setup.issuer.token(
                subject: "repo:acme/api:ref:refs/tags/v1.2.0", claims: ["job_workflow_ref": "acme/workflows/.github/workflows/deploy.yml@refs/heads/main"])
            #expect(try await setup.exchange(good).status == 200)
            let otherWorkflow = try setup.issuer.token(
                subject: "repo:acme/api:ref:refs/tags/v1.2.0", claims: ["job_workflow_ref": "mallory/workflows/deploy.yml@refs/heads/main"])
            Self.expectRefused(try await setup.exchange(otherWorkflow), code: 70021, says: "match no credential's claimsMatchingExpression")
        }
    }

    @Test func mismatchesSayWhichPartDidNotMatch() async throws {
        try await Self.with { setup in
            let issuer = setup.issuer
            Self.expectRefused(try await setup.exchange(try issuer.token(subject: setup.subject, audience: "api://other")), code: 700212, says: "audience 'api://other'")
            Self.expectRefused(try await setup.exchange(try issuer.token(subject: "repo:acme/api:ref:refs/heads/dev")), code: 700213, says: "subject 'repo:acme/api:ref:refs/heads/dev'")
            // The refusal's sign-in says what was presented, so the owner can see which subject to trust.
            let refused = try await setup.server.admin("GET", "signInLogs?appId=\(setup.clientId)&result=failure&top=1").json["value"]?.arrayValue?.first
            #expect(refused?["clientCredentialType"] == "federatedIdentityCredential")
            #expect(refused?["federatedTokenSubject"] == "repo:acme/api:ref:refs/heads/dev")
            #expect(refused?["federatedTokenIssuer"]?.stringValue == issuer.url)
            Self.expectRefused(try await setup.exchange(try issuer.token(subject: setup.subject.uppercased())), code: 700213, says: "case included")
            Self.expectRefused(try await setup.exchange(try issuer.token(subject: setup.subject, lifetime: -600)), code: 700024, says: "expired")
            Self.expectRefused(
                try await setup.exchange(try issuer.token(subject: setup.subject, claims: ["nbf": .integer(Int64(Date().timeIntervalSince1970) + 3600)])),
                code: 700024, says: "'nbf'")
            Self.expectRefused(
                try await setup.exchange(try issuer.token(subject: setup.subject, issuer: "https://token.actions.githubusercontent.com")),
                code: 700211, says: "issuer 'https://token.actions.githubusercontent.com'")
        }
    }

    @Test func forgedTokensAreRefusedAndNothingTheyPointAtIsFetched() async throws {
        try await Self.with { setup in
            let issuer = setup.issuer
            let stranger = try SigningKey.generate(for: .es256)
            // Signed by a key of another issuer, under a kid this issuer publishes.
            Self.expectRefused(
                try await setup.exchange(try issuer.token(subject: setup.subject, key: stranger, kid: issuer.kid(issuer.ec))),
                code: 700027, says: "signature does not verify")
            let claims = try CompactJWS(parsing: issuer.token(subject: setup.subject)).claims
            let none = Assertions.forge(header: ["alg": "none", "kid": .string(issuer.kid(issuer.rsa))], claims: .object(claims), signature: Data())
            Self.expectRefused(try await setup.exchange(none), code: 50027, says: "alg 'none' is not accepted")
            // A key its issuer published for RS256 does not verify PS256, though RSA could.
            let narrowed = try Assertions.sign(
                claims: claims, key: issuer.rsaRS256Only, header: ["kid": .string(issuer.kid(issuer.rsaRS256Only))], pss: true)
            Self.expectRefused(try await setup.exchange(narrowed), code: 700027, says: "published for RS256")
            let rs256 = try Assertions.sign(claims: claims, key: issuer.rsaRS256Only, header: ["kid": .string(issuer.kid(issuer.rsaRS256Only))])
            #expect(try await setup.exchange(rs256).status == 200)
            let hmac = Assertions.forge(header: ["alg": "HS256", "kid": .string(issuer.kid(issuer.rsa))], claims: .object(claims))
            Self.expectRefused(try await setup.exchange(hmac), code: 50027, says: "alg 'HS256' is not accepted")
            // jku, x5u and an embedded jwk name the attacker's key: never followed, never used.
            var jwk = stranger.publicKey.jwkMembers
            jwk["kid"] = "attacker"
            for header: [String: JSONValue] in [["jku": "https://127.0.0.1:9/jwks"], ["x5u": "https://127.0.0.1:9/cert"], ["jwk": .object(jwk)]] {
                Self.expectRefused(
                    try await setup.exchange(try issuer.token(subject: setup.subject, key: stranger, kid: "attacker", header: header)),
                    code: 700027, says: "no key with kid 'attacker'")
            }
        }
    }

    @Test func aFloodOfUnknownKidsCostsAtMostOneRefresh() async throws {
        try await Self.with { setup in
            #expect(try await setup.exchange(try setup.issuer.token(subject: setup.subject)).status == 200)
            let before = setup.issuer.requests("jwks")
            for index in 0..<50 {
                let forged = try setup.issuer.token(subject: setup.subject, key: setup.issuer.ec, kid: "made-up-\(index)")
                Self.expectRefused(try await setup.exchange(forged), code: 700027, says: "no key with kid 'made-up-\(index)'")
            }
            #expect(setup.issuer.requests("jwks") - before <= 1)
        }
    }

    @Test(arguments: [
        (TestIssuer.Mode.slow(seconds: 5), "did not answer in time"),
        (.trickle, "did not answer in time"),
        (.huge, "bytes; at most 524288 are accepted"),
        (.notJSON, "not a JSON object"),
        (.serverError, "HTTP 500"),
        (.redirect("https://169.254.169.254/latest/meta-data"), "loopback, private or link-local"),
        (.redirect("https://10.0.0.1/jwks"), "loopback, private or link-local"),
        (.namesAnotherIssuer, "names the issuer 'https://someone-else.example'"),
    ])
    func aMisbehavingIssuerFailsInBoundedTimeAndOthersAreUnaffected(mode: TestIssuer.Mode, says: String) async throws {
        let healthy = try await TestIssuer.start()
        defer { healthy.stop() }
        try await Self.with { setup in
            _ = try await setup.server.admin("POST", "trustedIssuers", json: ["issuer": .string(healthy.url), "caCertificate": .string(healthy.caPEM)])
            let added = try await setup.addCredential(["name": "healthy", "issuer": .string(healthy.url), "subject": "system:serviceaccount:shop:api"])
            #expect(added.status == 201)
            // Warm the healthy issuer's keys, then break the other one.
            #expect(try await setup.exchange(try healthy.token(subject: "system:serviceaccount:shop:api")).status == 200)
            setup.issuer.mode = mode
            let started = ContinuousClock.now
            async let broken = setup.exchange(try setup.issuer.token(subject: setup.subject))
            try await Task.sleep(for: .milliseconds(200))
            let healthyStarted = ContinuousClock.now
            let fine = try await setup.exchange(try healthy.token(subject: "system:serviceaccount:shop:api"))
            let healthyTook = ContinuousClock.now - healthyStarted
            #expect(fine.status == 200)
            #expect(healthyTook < .seconds(1), "the healthy issuer waited \(healthyTook) behind the broken one")
            Self.expectRefused(try await broken, code: 700027, says: says)
            #expect(ContinuousClock.now - started < .seconds(6))
        }
    }

    @Test func withdrawingTrustStopsTheIssuerAtOnceThoughItsKeysWereCached() async throws {
        try await Self.with { setup in
            #expect(try await setup.exchange(try setup.issuer.token(subject: setup.subject)).status == 200)
            let url = FormParameters.percentEncode(setup.issuer.url)
            #expect(try await setup.server.admin("DELETE", "trustedIssuers?issuer=\(url)").status == 204)
            Self.expectRefused(try await setup.exchange(try setup.issuer.token(subject: setup.subject)), code: 700027, says: "only after `sigil issuer trust`")
        }
    }

    @Test func anUntrustedLoopbackIssuerIsRefusedWithoutAConnection() async throws {
        let untrusted = try await TestIssuer.start()
        defer { untrusted.stop() }
        try await Self.with { setup in
            let added = try await setup.addCredential(["name": "local", "issuer": .string(untrusted.url), "subject": "x"])
            #expect(added.status == 201)
            Self.expectRefused(try await setup.exchange(try untrusted.token(subject: "x")), code: 700027, says: "only after `sigil issuer trust`")
            #expect(untrusted.requests("discovery") == 0 && untrusted.requests("jwks") == 0)
        }
    }

    @Test func credentialsFollowEntrasRulesAndARefusalChangesNothing() async throws {
        try await Self.with { setup in
            let url = setup.issuer.url
            let cases: [(JSONValue, String)] = [
                (["name": "ab", "issuer": .string(url), "subject": "s"], "3–120 characters"),
                (["name": "-dash", "issuer": .string(url), "subject": "s"], "starting with a letter or digit"),
                (["name": "has space", "issuer": .string(url), "subject": "s"], "letters, digits"),
                (["name": "spaced", "issuer": .string(" " + url), "subject": "s"], "leading or trailing space"),
                (["name": "spaced2", "issuer": .string(url + " "), "subject": "s"], "leading or trailing space"),
                (["name": "plain", "issuer": "http://insecure.example", "subject": "s"], "https:// URL"),
                (["name": "long", "issuer": .string(url), "subject": .string(String(repeating: "s", count: 601))], "at most 600"),
                (["name": "both", "issuer": .string(url), "subject": "s", "claimsMatchingExpression": "claims['sub'] eq 's'"], "not both"),
                (["name": "neither", "issuer": .string(url)], "either a subject or a claimsMatchingExpression"),
                (["name": "twoaud", "issuer": .string(url), "subject": "s", "audiences": ["a", "b"]], "exactly one"),
                (["name": "noaud", "issuer": .string(url), "subject": "s", "audiences": []], "exactly one"),
                (["name": "badexpr", "issuer": .string(url), "claimsMatchingExpression": "claims['sub'] like 'x'"], "at character 15"),
                (["name": "main-branch", "issuer": .string(url), "subject": "other"], "already has a federated credential named"),
                (["name": "dup-subject", "issuer": .string(url), "subject": .string(setup.subject)], "already has a federated credential for issuer"),
            ]
            for (body, says) in cases {
                let reply = try await setup.addCredential(body)
                #expect(reply.status == 400, "\(body): \(reply.json)")
                #expect(reply.json["error"]?["message"]?.stringValue?.contains(says) == true, "\(body): \(reply.json)")
            }
            let listed = try await setup.server.admin("GET", "applications/ci-deployer/federatedIdentityCredentials")
            #expect(listed.json["value"]?.arrayValue?.count == 1)
            for index in 1..<20 {
                let reply = try await setup.addCredential(["name": .string("extra-\(index)"), "issuer": .string(url), "subject": .string("s\(index)")])
                #expect(reply.status == 201)
            }
            let overLimit = try await setup.addCredential(["name": "one-too-many", "issuer": .string(url), "subject": "s99"])
            #expect(overLimit.status == 400)
            #expect(overLimit.json["error"]?["message"]?.stringValue?.contains("already has 20 federated credentials") == true)
        }
    }
}
