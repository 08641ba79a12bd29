import Foundation
import Testing
@testable import SigilScanner
@testable import SigilScanSources

/// Attack and edge cases found in review: each once leaked a secret, crashed, hung or gave a
/// wrong answer.
@Suite struct ReviewRegressionTests {
    static let body = String(repeating: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n", count: 4)

    @Test func keyBlocksAreRedactedToTheirHeaderWhateverTheLineEndings() throws {
        let crlf = "-----BEGIN PRIVATE KEY-----\n\(Self.body)-----END PRIVATE KEY-----\n".replacingOccurrences(of: "\n", with: "\r\n")
        let oneLine = "KEY=\"-----BEGIN PRIVATE KEY----- \(Self.body.replacingOccurrences(of: "\n", with: " "))-----END PRIVATE KEY-----\"\n"
        let putty = "PuTTY-User-Key-File-3: ssh-rsa\r\nEncryption: none\r\nPrivate-Lines: 4\r\n\(Self.body.replacingOccurrences(of: "\n", with: "\r\n"))Private-MAC: 0123456789abcdef\r\n"
        for text in [crlf, oneLine, putty] {
            let finding = try #require(scan(text, path: "key.env").first)
            #expect(!finding.redacted.contains("MIIE"), "\(finding.redacted)")
            #expect(finding.redacted.count < 40)
        }
    }

    @Test func customRulesReportTheRightBytesAroundInvalidUTF8() throws {
        let configuration = try ScanConfiguration.parse("[[rules]]\nid = \"acme\"\nregex = 'acme_[a-z]{10}'\nkeywords = [\"acme_\"]\n", file: "c.toml")
        let scanner = SecretScanner(configuration: configuration)
        var bytes: [UInt8] = Array(repeating: 0xFF, count: 12) + Array(" x acme_abcdefghij tail".utf8)
        bytes += Array(String(repeating: "é", count: 2100).utf8) + Array(" acme_klmnopqrst\n".utf8)
        let findings = bytes.withUnsafeBufferPointer { scanner.findings(in: $0, source: ScanSource(path: "f")) }
        #expect(findings.map(\.redacted) == ["acm*****", "acm*****"])
        #expect(findings.first?.column == 16)
    }

    @Test func reversedRangesInPatternsMatchNothing() {
        #expect(GlobList(lines: ["[z-a]", "[9-0]*"]).verdict("b", isDirectory: false) == nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func pathologicalRepetitionsStayLinear() {
        for unit in ["key", "pass", "token.", "accountkey=", "sharedaccesskey=", "glpat-", "sk-proj-", " pwd=", "eyJ-", "-----BEGIN PRIVATE KEY-----", "password=", "://"] {
            let text = String(repeating: unit, count: 300_000 / unit.utf8.count)
            _ = scan(text, path: "a.env")
        }
    }

    @Test func disablingOneRuleKeepsTheOthers() throws {
        let configuration = try ScanConfiguration.parse("[allowlist]\ndisabled-rules = [\"slack-bot-token\"]\n", file: "c.toml")
        let text = "DATABASE_URL=postgres://app:Xk9#mQ2vLp7z@db:5432/app\n-----BEGIN PRIVATE KEY-----\n\(Self.body)-----END PRIVATE KEY-----\n"
        let findings = Array(text.utf8).withUnsafeBufferPointer { SecretScanner(configuration: configuration).findings(in: $0, source: ScanSource(path: "a.env")) }
        #expect(findings.map(\.rule.id) == ["url-password", "private-key"])
    }

    @Test func aTruncatedKeyBlockDoesNotSwallowWhatFollows() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\n\(Self.body)\naws_access_key_id = AKIAQ3EGRZXKMPT7HLWB\nt = \"\(githubToken("ghp_"))\"\n"
        #expect(rules(text, path: "notes.txt") == ["private-key", "aws-access-key-id", "github-pat"])
    }

    @Test func aSecretOnALineAcrossPieceBoundariesIsFound() throws {
        let root = try temporaryFolder()
        let text = "id=AKIAQ3EGRZXKMPT7HLWB " + String(repeating: "a", count: 9 << 20) + " AKIAZ7QWERTYUIOPASDF tail\n"
        try write(text, root + "/long.txt")
        var options = FileSource.Options()
        options.maximumFileSize = 0
        let findings = FileSource(scanner: SecretScanner(), options: options).scan([root]).findings.sorted { $0.column < $1.column }
        #expect(findings.map(\.line) == [1, 1])
        #expect(findings.map(\.column) == [4, 24 + (9 << 20) + 2])
    }

    @Test func fifosAndCRLFGitignoresAndSeveralRoots() throws {
        let root = try temporaryFolder()
        try write("t = \"\(githubToken("ghp_"))\"\n", root + "/a/c.env")
        try write("t = \"\(githubToken("ghp_"))\"\n", root + "/b/c.env")
        try write("t = \"\(githubToken("ghp_"))\"\n", root + "/b/ignored.env")
        try write("ignored.env\r\n", root + "/b/.gitignore")
        #expect(mkfifo(root + "/fifo", 0o600) == 0)
        let report = FileSource(scanner: SecretScanner(), options: .init()).scan([root + "/a", root + "/b", root + "/fifo"])
        #expect(Set(report.findings.map(\.file)) == [root + "/a/c.env", root + "/b/c.env"])
        #expect(report.problems.contains { $0.path.hasSuffix("fifo") && $0.message.contains("not a regular file") })
    }
}
