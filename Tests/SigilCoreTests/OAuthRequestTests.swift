import Foundation
import Testing

@testable import SigilCore

@Suite struct FormParametersTests {
    @Test func decodesPercentAndPlus() throws {
        let form = try FormParameters(decoding: Array("scope=api%3A%2F%2Forders%2F.default&name=a+b&empty=&flag".utf8))
        #expect(form["scope"] == "api://orders/.default")
        #expect(form["name"] == "a b")
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
    }

    @Test func refusesDuplicatesAndBrokenEncoding() {
        #expect(throws: OAuthError.duplicateParameter("scope")) { try FormParameters(decoding: Array("scope=a&scope=b".utf8)) }
        #expect { try FormParameters(decoding: Array("a=%zz".utf8)) } throws: { ($0 as? OAuthError)?.code == 90014 }
        #expect { try FormParameters(decoding: Array("a=%C3".utf8)) } throws: { ($0 as? OAuthError)?.code == 90014 }
    }

    @Test func encodeThenDecodeIsIdentity() throws {
        let pairs = [("client_secret", "sgs_a+b/c=d&e f~"), ("scope", "api://x/.default")]
        let form = try FormParameters(decoding: Array(FormParameters.encode(pairs).utf8))
        #expect(form["client_secret"] == "sgs_a+b/c=d&e f~")
        #expect(form["scope"] == "api://x/.default")
    }
}

@Suite struct ClientCredentialsRequestTests {
    func request(_ values: [String: String], authorization: String? = nil) throws(OAuthError) -> ClientCredentialsRequest {
        try ClientCredentialsRequest(form: FormParameters(values), authorization: authorization)
    }

    let base = ["grant_type": "client_credentials", "client_id": "app", "client_secret": "s", "scope": "api://r/.default"]

    @Test func acceptsClientSecretPost() throws {
        let parsed = try request(base)
        #expect(parsed.clientId == "app")
        #expect(parsed.credential == .secret("s", viaHeader: false))
        #expect(parsed.resource == "api://r")
    }

    @Test func acceptsClientSecretBasicWithFormEncodedHalves() throws {
        var values = base
        values["client_secret"] = nil
        values["client_id"] = nil
        let header = "Basic " + Data("my%3Aapp:se%2Bcret".utf8).base64EncodedString()
        let parsed = try request(values, authorization: header)
        #expect(parsed.clientId == "my:app")
        #expect(parsed.credential == .secret("se+cret", viaHeader: true))
    }

    @Test func unknownParametersAreIgnored() throws {
        var values = base
        values["client_info"] = "1"
        values["x-anything"] = "y"
        #expect(try request(values).clientId == "app")
    }

    @Test func missingGrantTypeComesFirst() {
        var values = base
        values["grant_type"] = nil
        #expect(throws: OAuthError.missingParameter("grant_type")) { try request(values) }
    }

    @Test func otherGrantsAreUnsupported() {
        var values = base
        values["grant_type"] = "password"
        #expect { try request(values) } throws: { ($0 as? OAuthError)?.error == "unsupported_grant_type" }
    }

    @Test func aSecretInHeaderAndBodyIsRefused() {
        let header = "Basic " + Data("app:s".utf8).base64EncodedString()
        #expect { try request(base, authorization: header) } throws: {
            ($0 as? OAuthError)?.message.contains("client_secret_basic, client_secret_post") == true
        }
    }

    @Test func secretAndAssertionTogetherAreRefused() {
        var values = base
        values["client_assertion"] = "a.b.c"
        values["client_assertion_type"] = ClientCredentialsRequest.assertionType
        #expect { try request(values) } throws: { ($0 as? OAuthError)?.code == 90015 }
    }

    @Test func noCredentialIsInvalidClient() {
        var values = base
        values["client_secret"] = nil
        #expect(throws: OAuthError.noCredential()) { try request(values) }
    }

    @Test func wrongAssertionTypeIsNamed() {
        var values = base
        values["client_secret"] = nil
        values["client_assertion"] = "a.b.c"
        values["client_assertion_type"] = "urn:other"
        #expect(throws: OAuthError.wrongAssertionType("urn:other")) { try request(values) }
    }

    @Test func basicHeaderMustBeBasicAndDecodable() {
        #expect { try request(base, authorization: "Bearer x") } throws: { ($0 as? OAuthError)?.status == 401 }
        #expect { try request(base, authorization: "Basic !!!") } throws: { ($0 as? OAuthError)?.message.contains("not base64") == true }
        let noColon = "Basic " + Data("appsecret".utf8).base64EncodedString()
        #expect { try request(base, authorization: noColon) } throws: { ($0 as? OAuthError)?.message.contains("no ':'") == true }
    }

    @Test(arguments: ["api://r", "api://r/read", "api://r/.default api://s/.default", "/.default", " "])
    func scopeMustBeOneResourceDotDefault(scope: String) {
        var values = base
        values["scope"] = scope
        #expect { try request(values) } throws: { ($0 as? OAuthError)?.error == "invalid_scope" || ($0 as? OAuthError)?.code == 900144 }
    }

    @Test func scopeMayBeAnAppIdOrHTTPSResource() throws {
        #expect(try ClientCredentialsRequest.resource(fromScope: "8f0c0d43-0000-0000-0000-000000000000/.default") == "8f0c0d43-0000-0000-0000-000000000000")
        #expect(try ClientCredentialsRequest.resource(fromScope: "https://vault.example/.default") == "https://vault.example")
    }
}

@Suite struct ClientAssertionRulesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    var rules: ClientAssertionRules {
        ClientAssertionRules(clientId: "app", audiences: ["https://s/t/oauth2/v2.0/token"], now: now)
    }
    var claims: [String: JSONValue] {
        [
            "iss": "app", "sub": "app", "aud": "https://s/t/oauth2/v2.0/token", "jti": "1",
            "exp": .integer(1_800_000_300), "nbf": .integer(1_800_000_000), "iat": .integer(1_800_000_000),
        ]
    }

    func code(_ change: (inout [String: JSONValue]) -> Void) -> Int? {
        var changed = claims
        change(&changed)
        do {
            _ = try rules.check(changed)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func acceptsAWellFormedAssertion() throws {
        let accepted = try rules.check(claims)
        #expect(accepted.jti == "1")
        #expect(accepted.expiresAt == Date(timeIntervalSince1970: 1_800_000_300))
    }

    @Test func audienceMayBeAnArray() throws {
        var changed = claims
        changed["aud"] = ["https://other", "https://s/t/oauth2/v2.0/token"]
        #expect(throws: Never.self) { try rules.check(changed) }
    }

    @Test func eachClaimIsChecked() {
        #expect(code { $0["iss"] = "other" } == 700021)
        #expect(code { $0["sub"] = "other" } == 700021)
        #expect(code { $0["sub"] = nil } == 700021)
        #expect(code { $0["aud"] = "https://s/t/oauth2/token-evil" } == 700021)
        #expect(code { $0["aud"] = nil } == 700021)
        #expect(code { $0["jti"] = nil } == 700021)
        #expect(code { $0["jti"] = .string(String(repeating: "j", count: 257)) } == 700021)
        #expect(code { $0["exp"] = nil } == 700024)
        #expect(code { $0["exp"] = "soon" } == 700024)
        #expect(code { $0["exp"] = .integer(1_800_000_000 - 301) } == 700024)
        #expect(code { $0["exp"] = .integer(1_800_000_000 + 3600 + 301) } == 700024)
        #expect(code { $0["nbf"] = .integer(1_800_000_000 + 301) } == 700024)
        #expect(code { $0["iat"] = .integer(1_800_000_000 + 301) } == 700024)
    }

    @Test func numericDatesMayBeFractional() {
        // msal writes exp = time.time() + 600.
        #expect(code { $0["exp"] = .number(1_800_000_300.25); $0["iat"] = .number(1_799_999_999.75) } == nil)
        #expect(code { $0["exp"] = .number(1_799_999_699.5) } == 700024)
    }

    @Test func clockSkewIsTolerated() {
        #expect(code { $0["exp"] = .integer(1_800_000_000 - 299) } == nil)
        #expect(code { $0["nbf"] = .integer(1_800_000_000 + 299) } == nil)
    }
}

@Suite struct DirectoryRulesTests {
    @Test func durations() {
        #expect(ISO8601Duration.seconds("P90D") == TimeInterval(90 * 86_400))
        #expect(ISO8601Duration.seconds("PT12H") == TimeInterval(12 * 3600))
        #expect(ISO8601Duration.seconds("P1DT1H30M") == TimeInterval(86_400 + 5400))
        #expect(ISO8601Duration.seconds("P2W") == TimeInterval(14 * 86_400))
        for bad in ["", "P", "90D", "PT", "P1H", "PT1D", "P1D2", "P-1D", "PTT1H"] {
            #expect(ISO8601Duration.seconds(bad) == nil, "\(bad) accepted")
        }
    }

    @Test func secretLifetimeBounds() throws {
        #expect(try DirectoryRules.secretLifetime("P30D") == TimeInterval(30 * 86_400))
        #expect(throws: DirectoryRuleViolation.self) { try DirectoryRules.secretLifetime("PT30M") }
        #expect(throws: DirectoryRuleViolation.self) { try DirectoryRules.secretLifetime("P3Y") }
        #expect(throws: DirectoryRuleViolation.self) { try DirectoryRules.secretLifetime("forever") }
    }

    @Test func identifierUris() throws {
        for good in ["api://orders", "https://orders.example.com/api", "urn:example:orders"] {
            #expect(throws: Never.self) { try DirectoryRules.checkIdentifierUri(good) }
        }
        for bad in ["orders", "http://orders", "api://", "api://a b", "api://x?y=1", "api://orders/", "api://orders/.default", "api://é"] {
            #expect(throws: DirectoryRuleViolation.self, "\(bad) accepted") { try DirectoryRules.checkIdentifierUri(bad) }
        }
    }

    @Test func namesAndRoleValues() {
        #expect(throws: DirectoryRuleViolation.self) { try DirectoryRules.checkDisplayName("   ") }
        #expect(throws: DirectoryRuleViolation.self) { try DirectoryRules.checkDisplayName(String(repeating: "n", count: 257)) }
        #expect(throws: DirectoryRuleViolation.self) { try DirectoryRules.checkDisplayName("a\u{7}b") }
        #expect(throws: Never.self) { try DirectoryRules.checkDisplayName("Orders API (prod) — ünïcode") }
        #expect(throws: Never.self) { try DirectoryRules.checkRoleValue("Orders.Read") }
        for bad in ["", "has space", ".leading", "ümlaut", String(repeating: "r", count: 121)] {
            #expect(throws: DirectoryRuleViolation.self, "\(bad) accepted") { try DirectoryRules.checkRoleValue(bad) }
        }
    }
}
