import ArgumentParser
import Foundation
import SigilScanner
import SigilScanSources

/// `sigil scan`: finds credentials in files, git history, staged changes, standard input and
/// pushes (`sigil scan [PATH…]`, the default `find` subcommand), and installs the git hooks that
/// run it (`sigil scan hook install`). Exit status: 0 nothing found, 1 findings, 2 the scan could
/// not be done.
struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find secrets in files, git history, staged changes and pushes.",
        discussion: """
            sigil scan [PATH…]        files and folders (default: .)
            sigil scan --git [REPO]   every commit on every ref (--since, --range)
            sigil scan --staged       the staged change (pre-commit)
            sigil scan --stdin        standard input
            sigil scan hook install   a pre-commit hook (--pre-push, --pre-receive)
            All options: sigil scan find --help. Exit: 0 clean, 1 found, 2 error.
            """,
        subcommands: [Find.self, Hook.self],
        defaultSubcommand: Find.self)
}

extension Scan {
    struct Find: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find secrets (the default: `sigil scan PATH…` runs this).",
            discussion: """
                Exit status: 0 when nothing is found, 1 when secrets are found, 2 when the scan could not be done.
                Rules: docs/scanner-rules.md. Suppress a line with a `sigil:allow` comment, accepted findings with \
                --baseline, paths and custom rules with .sigil-scan.toml.
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, sarif }

        @Argument(help: "Files and folders to scan (default: the current folder); with --git, the repository.")
        var paths: [String] = []

        @Flag(help: "Scan every commit reachable from all refs of the repository (or PATH).") var git = false
        @Option(help: "With --git: only commits not reachable from REV.") var since: String?
        @Option(help: "With --git: only the commits in A..B.") var range: String?
        @Flag(help: "Scan the staged changes (for a pre-commit hook).") var staged = false
        @Flag(help: "Scan standard input.") var stdin = false
        @Option(help: "With --stdin: the name findings are reported under.") var stdinName = "<stdin>"
        @Flag(help: "Run as a git pre-receive hook: read 'old new ref' lines and scan what the push adds.") var preReceive = false
        @Flag(help: .hidden) var prePush = false
        @Flag(help: .hidden) var hook = false

        @Flag(help: "Do not honour .gitignore files.") var noIgnore = false
        @Option(help: "Skip files larger than this many bytes (suffixes k, M, G; 0 for no limit).") var maxFileSize = "10M"
        @Option(help: "Output format.") var format: Format = .text
        @Option(help: "Drop findings whose fingerprints are in this baseline file.") var baseline: String?
        @Option(help: "Write every finding's fingerprint to this baseline file and exit 0.") var writeBaseline: String?
        @Option(help: "Configuration file (default: .sigil-scan.toml in the scanned folder or repository).") var config: String?
        @Option(help: "Scan with this many threads (default: one per core).") var jobs: Int?
        @Flag(help: "Send the SHA-256 of each Sigil secret found (never the secret) to the server of your `sigil login` profile, which revokes it.")
        var report = false

        func validate() throws {
            let modes = [git, staged, stdin, preReceive, prePush].filter { $0 }.count
            guard modes <= 1 else { throw ValidationError("choose one of --git, --staged, --stdin and --pre-receive") }
            if (since != nil || range != nil) && !git { throw ValidationError("--since and --range go with --git") }
            if since != nil && range != nil { throw ValidationError("give --since or --range, not both") }
            if (git || staged || preReceive || prePush) && paths.count > 1 { throw ValidationError("give at most one repository") }
            if stdin && !paths.isEmpty { throw ValidationError("--stdin reads standard input; give no paths") }
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            _ = try Self.bytes(maxFileSize)
        }

        static func bytes(_ text: String) throws -> Int {
            let units: [Character: Int] = ["k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
            var number = Substring(text)
            var unit = 1
            if let last = number.last, let scale = units[last] {
                unit = scale
                number = number.dropLast()
            }
            guard let value = Int(number), value >= 0 else {
                throw ValidationError("--max-file-size '\(text)' is not a size such as 10M, 512k or 0")
            }
            return value * unit
        }

        func run() async throws {
            let run = ScanRun(command: self)
            throw ExitCode(await run.execute())
        }
    }
}

extension Scan {
    /// `sigil scan hook install|uninstall`.
    struct Hook: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Git hooks that block secrets.", subcommands: [Install.self, Uninstall.self])

        /// Which hook: pre-commit unless told otherwise.
        struct Which: ParsableArguments {
            @Flag(help: "The pre-commit hook (default).") var preCommit = false
            @Flag(help: "The pre-push hook.") var prePush = false
            @Flag(help: "The pre-receive hook of a git server's bare repository.") var preReceive = false
            @Option(help: "The repository (default: the current folder).") var repository: String?

            func validate() throws {
                guard [preCommit, prePush, preReceive].filter({ $0 }).count <= 1 else {
                    throw ValidationError("choose one of --pre-commit, --pre-push and --pre-receive")
                }
            }

            var kind: HookInstaller.Kind { prePush ? .prePush : preReceive ? .preReceive : .preCommit }
        }

        struct Uninstall: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a hook that `sigil scan hook install` wrote (never another).")
            @OptionGroup var which: Which

            func run() async throws {
                do {
                    if let path = try await HookInstaller.uninstall(which.kind, repository: which.repository) {
                        print("Removed the \(which.kind.rawValue) hook: \(path)")
                    } else {
                        print("No \(which.kind.rawValue) hook to remove.")
                    }
                } catch {
                    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                    throw ExitCode(2)
                }
            }
        }

        struct Install: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Install a pre-commit (default), pre-push or pre-receive hook in a repository.")

            @OptionGroup var which: Which
            @Flag(help: "Replace an existing hook that Sigil did not write.") var force = false

            func run() async throws {
                let kind = which.kind
                do {
                    let path = try await HookInstaller.install(kind, repository: which.repository, executable: Self.executablePath, force: force)
                    print("Installed the \(kind.rawValue) hook: \(path)")
                    print("To go ahead past a block, give a reason: \(kind.bypassHint)")
                } catch {
                    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                    throw ExitCode(2)
                }
            }

            /// This executable's absolute path, so the hook runs the same `sigil`.
            static var executablePath: String {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            }
        }
    }
}
