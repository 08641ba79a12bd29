import Foundation
import SigilCore
import Testing

@Suite struct ClaimsMatchingExpressionTests {
    @Test func parsesComparisonsJoinedByAnd() throws {
        let expression = try ClaimsMatchingExpression(parsing: "claims['sub'] matches 'repo:acme/*:ref:refs/heads/*' and claims['actor'] eq 'it''s me'")
        #expect(expression.comparisons == [
            .init(claim: "sub", op: .matches, value: "repo:acme/*:ref:refs/heads/*"),
            .init(claim: "actor", op: .eq, value: "it's me"),
        ])
        #expect(expression.matches(["sub": "repo:acme/api:ref:refs/heads/main", "actor": "it's me"]))
        #expect(!expression.matches(["sub": "repo:acme/api:ref:refs/tags/v1", "actor": "it's me"]))
        #expect(!expression.matches(["sub": "repo:acme/api:ref:refs/heads/main"]), "a missing claim matches nothing")
        #expect(!expression.matches(["sub": "repo:acme/api:ref:refs/heads/main", "actor": 7]), "only string claims compare")
    }

    @Test(arguments: [
        ("", 1, "expected claims['NAME']"),
        ("claims[\"sub\"] eq 'x'", 1, "expected claims['NAME']"),
        ("claims['sub'] like 'x'", 15, "expected 'eq' or 'matches'"),
        ("claims['sub'] eq x", 18, "expected a value in single quotes"),
        ("claims['sub'] eq 'x", 20, "no closing quote"),
        ("claims['sub'] eq 'x' or claims['a'] eq 'b'", 22, "expected 'and'"),
        ("claims['sub'] eq 'x' and", 25, "expected a space after 'and'"),
        ("claims['s b'] eq 'x'", 10, "a claim name has letters"),
        ("claims[''] eq 'x'", 9, "the claim name is empty"),
        ("claims['sub'] eqq 'x'", 17, "expected a space after 'eq'"),
    ])
    func refusesAnythingElseAndSaysWhere(text: String, position: Int, says: String) {
        #expect {
            try ClaimsMatchingExpression(parsing: text)
        } throws: { error in
            guard let error = error as? ClaimsMatchingExpression.SyntaxError else { return false }
            return error.position == position && error.reason.contains(says)
        }
    }

    @Test func globStarsAndQuestionMarks() {
        let glob = ClaimsMatchingExpression.glob
        #expect(glob("repo:acme/*", "repo:acme/api"))
        #expect(glob("repo:acme/*", "repo:acme/"))
        #expect(!glob("repo:acme/*", "repo:acmex/api"))
        #expect(glob("v?.?", "v1.2") && !glob("v?.?", "v10.2"))
        #expect(glob("*a*b*c*", "xxaxxbxxcxx") && !glob("*a*b*c*", "xxaxxcxxbxx"))
        #expect(!glob("Repo:*", "repo:x"), "case-sensitive")
        #expect(glob("*", "") && !glob("?", ""))
        // Many stars against a long text stay fast (one backtrack point).
        #expect(!glob(String(repeating: "*a", count: 100) + "b", String(repeating: "a", count: 10_000)))
    }
}

@Suite struct FederationRulesTests {
    func credential(name: String = "deploy", issuer: String = "https://token.actions.githubusercontent.com", subject: String? = "repo:a/b:ref:refs/heads/main") -> FederatedIdentityCredential {
        FederatedIdentityCredential(
            id: "1", applicationId: "app", name: name, issuer: issuer, subject: subject, claimsMatchingExpression: nil,
            audiences: [FederationRules.defaultAudience], description: "", createdAt: Date())
    }

    @Test func namesAreThreeToOneHundredTwentyURLSafeCharacters() throws {
        try FederationRules.checkName("abc")
        try FederationRules.checkName("1st_deploy-prod")
        try FederationRules.checkName(String(repeating: "a", count: 120))
        for bad in ["ab", "_lead", "-lead", "with space", "dot.ted", "ünïcode", String(repeating: "a", count: 121)] {
            #expect(throws: DirectoryRuleViolation.self) { try FederationRules.checkName(bad) }
        }
    }

    @Test func uniquenessAndTheLimitAreCheckedAgainstTheOthers() throws {
        let existing = [credential()]
        #expect(throws: DirectoryRuleViolation.self) { try FederationRules.checkAgainst(existing, adding: credential(name: "other")) }
        #expect(throws: DirectoryRuleViolation.self) { try FederationRules.checkAgainst(existing, adding: credential(subject: "x")) }
        try FederationRules.checkAgainst(existing, adding: credential(name: "other", subject: "Repo:a/b:ref:refs/heads/main"))
        let twenty = (0..<20).map { credential(name: "c\($0)", subject: "s\($0)") }
        #expect(throws: DirectoryRuleViolation.self) { try FederationRules.checkAgainst(twenty, adding: credential(name: "new", subject: "new")) }
    }

    @Test func federatedMatchingChecksTimesThenSubjectThenAudience() throws {
        let now = Date()
        let rules = FederatedAssertionRules(candidates: [credential()], now: now)
        var claims: [String: JSONValue] = [
            "sub": "repo:a/b:ref:refs/heads/main", "aud": "api://AzureADTokenExchange", "exp": .integer(Int64(now.timeIntervalSince1970) + 60),
        ]
        #expect(try rules.match(claims).name == "deploy")
        claims["aud"] = ["other", "api://AzureADTokenExchange"]
        #expect(try rules.match(claims).name == "deploy", "one matching audience of several is enough")
        claims["aud"] = "other"
        #expect(throws: OAuthError.federatedAudienceMismatch("'other'")) { try rules.match(claims) }
        claims["sub"] = "repo:a/b:ref:refs/heads/dev"
        #expect(throws: OAuthError.federatedSubjectMismatch("'repo:a/b:ref:refs/heads/dev'")) { try rules.match(claims) }
        claims["exp"] = .integer(Int64(now.timeIntervalSince1970) - 600)
        #expect { try rules.match(claims) } throws: { ($0 as? OAuthError)?.code == 700024 }
    }
}

@Suite struct AtomicFileTests {
    @Test func aSymbolicLinkAtTheTemporaryNameIsNotFollowed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let victim = folder + "/victim"
        try "untouched".write(toFile: victim, atomically: false, encoding: .utf8)
        let target = folder + "/host-key.pem"
        try FileManager.default.createSymbolicLink(atPath: target + ".tmp-\(getpid())", withDestinationPath: victim)
        try AtomicFile.write(target, "secret", mode: 0o600)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "secret")
        #expect(try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int == 0o600)
    }
}
