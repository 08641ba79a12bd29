import Foundation
import Testing
@testable import SigilScanner

@Suite struct GlobPatternTests {
    func ignored(_ patterns: [String], _ path: String, directory: Bool = false) -> Bool? {
        GlobList(lines: patterns).verdict(path, isDirectory: directory)
    }

    @Test func gitignoreSemantics() {
        #expect(ignored(["*.log"], "logs/app.log") == true)
        #expect(ignored(["*.log"], "app.logx") == nil)
        #expect(ignored(["/build"], "build") == true)
        #expect(ignored(["/build"], "src/build") == nil)
        #expect(ignored(["build/"], "build", directory: false) == nil)
        #expect(ignored(["build/"], "src/build", directory: true) == true)
        #expect(ignored(["docs/*.md"], "docs/a.md") == true)
        #expect(ignored(["docs/*.md"], "docs/x/a.md") == nil)
        #expect(ignored(["**/fixtures/*.pem"], "a/b/fixtures/k.pem") == true)
        #expect(ignored(["**/fixtures/*.pem"], "fixtures/k.pem") == true)
        #expect(ignored(["**/fixtures/*.pem"], "xfixtures/k.pem") == nil)
        #expect(ignored(["a/**/z"], "a/b/c/z") == true)
        #expect(ignored(["*.env", "!example.env"], "example.env") == false)
        #expect(ignored(["[abc].txt"], "b.txt") == true)
        #expect(ignored(["# comment", "", "?.txt"], "q.txt") == true)
    }
}

@Suite struct ConfigurationTests {
    @Test func customRulesAllowlistsAndDisabledRules() throws {
        let text = """
            [allowlist]
            paths = ["vendor/", "**/*.fixture"]
            values = ["dev-only-Passw0rd!"]
            disabled-rules = ["jwt"]

            [[rules]]
            id = "acme-api-key"
            description = "Acme API key"
            regex = 'acme_([a-z0-9]{32})'
            keywords = ["acme_"]
            entropy = 3.0
            """
        let configuration = try ScanConfiguration.parse(text, file: ".sigil-scan.toml")
        #expect(configuration.isPathAllowed("vendor/lib/a.py"))
        #expect(configuration.isPathAllowed("src/x.fixture"))
        #expect(!configuration.isPathAllowed("src/x.py"))
        let scanner = SecretScanner(configuration: configuration)
        let source = "key = acme_k3v9qm2lr7tw1yx5pn8hs4jd6fg0bc2v\nlow = acme_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\npassword = \"dev-only-Passw0rd!\"\n"
        let findings = Array(source.utf8).withUnsafeBufferPointer { scanner.findings(in: $0, source: ScanSource(path: "a.py")) }
        #expect(findings.map(\.rule.id) == ["acme-api-key"])
        #expect(findings.first?.redacted == "k3v9*****")
    }

    @Test func badFilesNameTheirLine() {
        let cases: [(String, Int, String)] = [
            ("[allowlist]\npaths = [\"a\"\n", 2, "parsing"),
            ("[allowlist]\npaths = \"vendor\"\n", 2, "'paths' must be an array of strings"),
            ("[allowlist]\nfoo = [\"x\"]\n", 2, "unknown allowlist setting 'foo'"),
            ("[allowlist]\ndisabled-rules = [\"no-such-rule\"]\n", 2, "unknown rule 'no-such-rule'"),
            ("[[rules]]\nid = \"x\"\nregex = '(unclosed'\n", 3, "does not compile"),
            ("[[rules]]\nid = \"x\"\n", 1, "needs a regex"),
            ("[[rules]]\nid = \"github-pat\"\nregex = 'x'\n", 1, "already taken"),
            ("[[rules]]\nid = \"x\"\nregex = 'x+'\nentropy = 12\n", 4, "entropy must be a number"),
            ("[[rules]]\nid = \"x\"\nregex = 'x+'\nkeywords = [\"x\"]\n", 4, "at least 2 characters"),
            ("verbose = true\n", 1, "unknown setting 'verbose'"),
        ]
        for (text, line, message) in cases {
            do {
                _ = try ScanConfiguration.parse(text, file: "cfg.toml")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.line == line, "\(text) → \(error)")
                #expect(error.description.hasPrefix("cfg.toml:\(line): "), "\(error)")
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }

    @Test func baselineRoundTripAndRefusals() throws {
        let findings = scan("t = \"\(githubToken("ghp_"))\"\n")
        let text = Baseline.serialize(findings)
        let baseline = try Baseline.parse(Data(text.utf8), file: "b.json")
        #expect(findings.allSatisfy(baseline.contains))
        #expect(!text.contains(githubToken("ghp_")))
        for bad in ["", "[]", "{\"version\":2,\"findings\":[]}", "{\"version\":1,\"findings\":[{\"fingerprint\":\"short\"}]}"] {
            #expect(throws: Baseline.Problem.self) { try Baseline.parse(Data(bad.utf8), file: "b.json") }
        }
    }
}

@Suite struct PatchParserTests {
    @Test func addedLinesWithCommitsPathsAndLineNumbers() {
        let token = githubToken("ghp_")
        let log = """
            \u{0}1111111111111111111111111111111111111111\u{0}Ada Lovelace\u{0}ada@example.com\u{0}2026-01-02T03:04:05+00:00

            diff --git a/app/config.py b/app/config.py
            index 0000000..1111111 100644
            --- a/app/config.py
            +++ b/app/config.py
            @@ -10,0 +11,2 @@ def load():
            +    x = 1
            +    token = "\(token)"
            @@ -40 +42 @@
            -old
            +new
            diff --git a/bin.dat b/bin.dat
            Binary files a/bin.dat and b/bin.dat differ
            \u{0}2222222222222222222222222222222222222222\u{0}Bob\u{0}bob@example.com\u{0}2026-01-03T00:00:00+00:00

            diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"
            --- /dev/null
            +++ "b/caf\\303\\251.txt"
            @@ -0,0 +1 @@
            +token = "\(token)"

            """
        var parser = PatchParser()
        var files: [FileAdditions] = []
        // Fed in small pieces: lines cross chunk boundaries.
        let bytes = Array(log.utf8)
        for start in stride(from: 0, to: bytes.count, by: 7) {
            bytes[start..<min(start + 7, bytes.count)].withUnsafeBytes { parser.feed($0) { files.append($0) } }
        }
        parser.finish { files.append($0) }
        #expect(files.map(\.path) == ["app/config.py", "café.txt"])
        #expect(files[0].lineNumbers == [11, 12, 42])
        #expect(files[0].commit?.author == "Ada Lovelace")
        #expect(files[1].commit?.id.hasPrefix("2222") == true)
        let findings = files[0].text.withUnsafeBufferPointer {
            SecretScanner().findings(in: $0, source: ScanSource(path: files[0].path, commit: files[0].commit, lineNumbers: files[0].lineNumbers))
        }
        #expect(findings.map(\.line) == [12])
    }
}
