import Foundation
import SigilScanner
import Subprocess

/// Scans what git knows: the history reachable from all refs (or a range), the index (for a
/// pre-commit hook), and the commits a push adds (pre-push and pre-receive hooks). Git itself
/// produces the patches (`git log -p`); only added lines are scanned, each finding carrying the
/// commit, author, date and path.
///
/// Merge commits are read as dense combined diffs (`--cc`): only what the merge itself added, in
/// a conflict resolution or an "evil merge", is new there; the rest was scanned in the commits it
/// merges.
public struct GitSource: Sendable {
    let scanner: SecretScanner
    /// The repository (its work tree or a bare repository); nil for the current folder.
    let repository: String?

    public init(scanner: SecretScanner, repository: String?) {
        self.scanner = scanner
        self.repository = repository
    }

    /// A git command that failed; its message is git's own first error line.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    static let zeroId = String(repeating: "0", count: 40)

    /// Who git says is at the keyboard (`Name <email>` of `git var GIT_AUTHOR_IDENT`, without the
    /// timestamp): recorded beside a hook bypass. Nil when git cannot tell.
    public func authorIdentity() async -> String? {
        guard let ident = try? await output(["var", "GIT_AUTHOR_IDENT"]), let end = ident.lastIndex(of: ">") else { return nil }
        return String(ident[...end]).trimmingCharacters(in: .whitespaces)
    }

    /// Patches exactly as the parser reads them, whatever the user's git configuration says about
    /// colour, external diff tools, text conversion and path prefixes.
    static let patchOptions = ["--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"]

    /// Every commit reachable from all refs, or those in `range` (`A..B`), or those since `since`.
    public func history(range: String? = nil, since: String? = nil) async throws -> ScanReport {
        var revisions = ["--all"]
        if let range { revisions = [range] }
        if let since { revisions = ["--all", "--not", since] }
        var report = try await scanLog(revisions)
        if try await output(["rev-parse", "--is-shallow-repository"]).trimmingCharacters(in: .whitespacesAndNewlines) == "true" {
            report.problems.append(SourceProblem(
                path: repository ?? ".",
                message: "shallow repository: commits older than its shallow boundary are not here and were not scanned (git fetch --unshallow first)"))
        }
        return report
    }

    /// The staged changes (`git diff --cached`), for a pre-commit hook.
    public func staged() async throws -> ScanReport {
        try await scanPatches(["diff", "--cached", "-p", "-U0", "--no-renames"] + Self.patchOptions)
    }

    /// The commits a push adds, from a pre-receive hook's `old new ref` lines: each update's new
    /// commits not already reachable from any ref. A deleted ref adds nothing.
    public func preReceive(updates: String) async throws -> ScanReport {
        var added: [String] = []
        for line in updates.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count == 3 else {
                throw Failure(description: "expected 'old new ref' lines on standard input, got '\(line.prefix(120))'")
            }
            if fields[1] != Self.zeroId { added.append(String(fields[1])) }
        }
        // One walk for all refs, so a commit pushed to two branches is reported once.
        guard !added.isEmpty else { return ScanReport(findings: []) }
        return try await scanLog(added + ["--not", "--all"])
    }

    /// The commits a `git push` sends, from a pre-push hook's
    /// `local-ref local-id remote-ref remote-id` lines: the local ids' commits the remote does
    /// not have yet.
    public func prePush(updates: String) async throws -> ScanReport {
        var local: [String] = []
        var remote: [String] = []
        for line in updates.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count == 4 else {
                throw Failure(description: "expected 'local-ref local-id remote-ref remote-id' lines on standard input, got '\(line.prefix(120))'")
            }
            if fields[1] != Self.zeroId { local.append(String(fields[1])) }
            if fields[3] != Self.zeroId, (try? await output(["cat-file", "-e", fields[3] + "^{commit}"])) != nil {
                remote.append(String(fields[3]))
            }
        }
        guard !local.isEmpty else { return ScanReport(findings: []) }
        return try await scanLog(local + ["--not", "--remotes"] + remote)
    }

    private func scanLog(_ revisions: [String]) async throws -> ScanReport {
        try await scanPatches(["log", "-p", "--cc", "-U0", "--format=" + PatchParser.commitFormat] + Self.patchOptions + revisions)
    }

    private func scanPatches(_ arguments: [String]) async throws -> ScanReport {
        var parser = PatchParser()
        var report = ScanReport(findings: [])
        var seen = Set<String>()
        let scanner = self.scanner
        let emit: (FileAdditions) -> Void = { additions in
            report.scannedObjects += 1
            guard !scanner.isAllowed(path: additions.path) else { return }
            let findings = additions.text.withUnsafeBufferPointer { bytes in
                scanner.findings(in: bytes, source: ScanSource(path: additions.path, commit: additions.commit, lineNumbers: additions.lineNumbers))
            }
            for finding in findings where seen.insert("\(finding.commit?.id ?? "")\(finding.fingerprint)\(finding.line)").inserted {
                report.findings.append(finding)
            }
        }
        do {
            try await stream(arguments) { chunk in parser.feed(chunk, emit: emit) }
        } catch let failure as Failure {
            // A bad revision fails before any output: nothing was scanned.
            if parser.bytesRead == 0 { throw failure }
            // A corrupt object ends git's output early: keep what was found before it.
            report.problems.append(SourceProblem(path: repository ?? ".", message: "git: \(failure.description)"))
            report.incomplete = true
        }
        parser.finish(emit: emit)
        report.scannedBytes = parser.bytesRead
        return report
    }

    /// Runs git and hands its standard output over as it comes.
    func stream(_ arguments: [String], consume: (UnsafeRawBufferPointer) -> Void) async throws {
        let result = try await run(
            .name("git"), arguments: Arguments(baseArguments + arguments), input: .none, output: .sequence,
            error: .string(limit: 64 << 10)
        ) { execution in
            for try await buffer in execution.standardOutput {
                buffer.withUnsafeBytes { consume($0) }
            }
        }
        try check(result.terminationStatus, stderr: result.standardError)
    }

    /// Runs git and returns its (small) standard output.
    func output(_ arguments: [String]) async throws -> String {
        let result = try await run(
            .name("git"), arguments: Arguments(baseArguments + arguments), output: .string(limit: 1 << 20), error: .string(limit: 64 << 10))
        try check(result.terminationStatus, stderr: result.standardError)
        return result.standardOutput
    }

    private var baseArguments: [String] {
        (repository.map { ["-C", $0] } ?? []) + ["-c", "core.quotePath=false"]
    }

    private func check(_ status: TerminationStatus, stderr: String?) throws {
        guard case .exited(0) = status else {
            let message = (stderr ?? "").split(whereSeparator: \.isNewline).first.map(String.init) ?? "git failed (\(status))"
            throw Failure(description: message)
        }
    }
}
