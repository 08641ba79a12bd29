import ArgumentParser
import Foundation
import SigilCore
import SigilScanner
import SigilScanSources

/// One `sigil scan` invocation: reads the configuration, runs the source the flags chose, applies
/// the baseline and a hook's bypass, and prints the report. Returns the exit status.
struct ScanRun {
    let command: Scan.Find

    /// A failure that stops the scan (exit status 2), already worded for the user.
    struct Stop: Error {
        let message: String
    }

    func execute() async -> Int32 {
        do {
            let configuration = try loadConfiguration()
            let scanner = SecretScanner(configuration: configuration)
            let updates = command.preReceive || command.prePush ? readStandardInput() : ""
            var report = try await scan(with: scanner, updates: updates)
            if let path = command.writeBaseline {
                try write(Baseline.serialize(report.findings), to: path)
                FileHandle.standardError.write(Data("Wrote \(Set(report.findings.map(\.fingerprint)).count) fingerprints to \(path).\n".utf8))
                return 0
            }
            if let path = command.baseline {
                let baseline = try readBaseline(path)
                let before = report.findings.count
                report.findings.removeAll(where: baseline.contains)
                report.suppressed = before - report.findings.count
            }
            let leakSummary = command.report ? await reportLeaks(&report) : nil
            if command.hook, !report.findings.isEmpty, let reason = bypassReason() {
                report.bypassReason = reason
                await recordBypass(reason, report: &report, updates: updates, git: GitSource(scanner: scanner, repository: command.paths.first))
            }
            print(report, leakSummary: leakSummary)
            if report.bypassReason != nil { return 0 }
            if !report.findings.isEmpty { return 1 }
            return report.incomplete ? 2 : 0
        } catch let stop as Stop {
            FileHandle.standardError.write(Data("error: \(stop.message)\n".utf8))
            return 2
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            return 2
        }
    }

    private func scan(with scanner: SecretScanner, updates: String) async throws -> ScanReport {
        let repository = command.paths.first
        let git = GitSource(scanner: scanner, repository: repository)
        do {
            if command.git { return try await git.history(range: command.range, since: command.since) }
            if command.staged { return try await git.staged() }
            if command.preReceive { return try await git.preReceive(updates: updates) }
            if command.prePush { return try await git.prePush(updates: updates) }
        } catch let failure as GitSource.Failure {
            throw Stop(message: "git: \(failure.description)")
        }
        var options = FileSource.Options()
        options.respectGitignore = !command.noIgnore
        options.maximumFileSize = try Scan.Find.bytes(command.maxFileSize)
        if let jobs = command.jobs { options.workers = jobs }
        let source = FileSource(scanner: scanner, options: options)
        if command.stdin { return source.scanStandardInput(name: command.stdinName) }
        // A mistyped path must not pass as "nothing found".
        for path in command.paths {
            var info = stat()
            if stat(path, &info) != 0 { throw Stop(message: "\(path): cannot read: \(String(cString: strerror(errno)))") }
        }
        let progress = Progress.start(enabled: command.format == .text && !command.hook)
        defer { progress?.finish() }
        return source.scan(command.paths.isEmpty ? ["."] : command.paths, progress: progress?.update)
    }

    private func loadConfiguration() throws -> ScanConfiguration {
        var path = command.config
        if path == nil {
            let folder = command.paths.first.flatMap { isDirectory($0) ? $0 : nil } ?? "."
            let candidate = folder + "/" + ScanConfiguration.fileName
            if FileManager.default.fileExists(atPath: candidate) { path = candidate }
        }
        guard let path else { return ScanConfiguration() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Stop(message: "cannot read the configuration file \(path)")
        }
        do {
            return try ScanConfiguration.parse(String(decoding: data, as: UTF8.self), file: path)
        } catch {
            throw Stop(message: error.description)
        }
    }

    private func readBaseline(_ path: String) throws -> Baseline {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Stop(message: "cannot read the baseline file \(path); write one with --write-baseline")
        }
        do {
            return try Baseline.parse(data, file: path)
        } catch {
            throw Stop(message: error.description)
        }
    }

    private func write(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw Stop(message: "cannot write \(path): \(error.localizedDescription)")
        }
    }

    private func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    private func readStandardInput() -> String {
        String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }

    /// A hook's bypass reason: the `sigil-bypass=` push option on a git server, or
    /// `SIGIL_SCAN_BYPASS` for local hooks. A blank reason does not bypass, and the hook says why.
    private func bypassReason() -> String? {
        let environment = ProcessInfo.processInfo.environment
        var reason = environment["SIGIL_SCAN_BYPASS"]
        var how = "SIGIL_SCAN_BYPASS='why this is safe' git …"
        if command.preReceive, let count = environment["GIT_PUSH_OPTION_COUNT"].flatMap(Int.init) {
            reason = (0..<count).compactMap { environment["GIT_PUSH_OPTION_\($0)"] }
                .first { $0.hasPrefix("sigil-bypass=") }
                .map { String($0.dropFirst("sigil-bypass=".count)) }
            how = "git push -o 'sigil-bypass=why this is safe'"
        }
        guard let reason else { return nil }
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            FileHandle.standardError.write(Data("sigil: the bypass has an empty reason, so it does not count; say why the secret may go in: \(how)\n".utf8))
            return nil
        }
        return trimmed
    }

    /// `--report`: sends the hashes of the Sigil secrets found to the server, which revokes them,
    /// and marks each finding with what the server said. Returns what was reported and revoked, in
    /// a line for standard error. A failure is a problem in the report (exit status 2 when nothing
    /// else is found), not a lost scan.
    private func reportLeaks(_ report: inout ScanReport) async -> String? {
        let sigilFindings = report.findings.indices.filter { report.findings[$0].isSigilSecret }
        guard !sigilFindings.isEmpty else { return "Reported nothing: no Sigil secrets were found (other secrets are not Sigil's to revoke)." }
        let hashes = sigilFindings.map { report.findings[$0].secretSHA256 }
        do {
            let results = try await withAdminClient { client in
                try await client.reportLeaks(sha256: hashes, source: source)
            }
            let status = Dictionary(results.map { ($0.sha256, $0.status) }, uniquingKeysWith: { first, _ in first })
            for index in sigilFindings {
                switch status[report.findings[index].secretSHA256] {
                case .revoked?, .alreadyRevoked?: report.findings[index].validity = .revoked
                case .notFound?: report.findings[index].validity = .notRegistered
                case nil: break
                }
            }
            func count(_ wanted: LeakReport.Status) -> Int { results.filter { $0.status == wanted }.count }
            let revokedNow = results.filter { $0.status == .revoked }.compactMap { $0.displayName.map { "\($0)" } }
            var line = "Reported \(results.count) Sigil \(results.count == 1 ? "secret" : "secrets") to the server: \(count(.revoked)) revoked now"
            if !revokedNow.isEmpty { line += " (\(revokedNow.joined(separator: ", ")))" }
            line += ", \(count(.alreadyRevoked)) already revoked, \(count(.notFound)) not registered in this tenant."
            return line
        } catch {
            report.problems.append(SourceProblem(path: Profile.path, message: "the leak report to the server failed: \(error)"))
            report.incomplete = true
            return nil
        }
    }

    /// Records a hook bypass in the server's audit log when a CLI profile is configured.
    private func recordBypass(_ reason: String, report: inout ScanReport, updates: String, git: GitSource) async {
        guard FileManager.default.fileExists(atPath: Profile.path) else { return }
        let refs = updates.split(whereSeparator: \.isNewline).compactMap { $0.split(separator: " ").dropFirst(2).first.map(String.init) }
        let findings = report.findings.prefix(ScanBypass.maximumFindings).map {
            ScanBypass.Finding(rule: $0.rule.id, file: $0.file, line: $0.line, fingerprint: $0.fingerprint, commit: $0.commit?.id)
        }
        let author = await git.authorIdentity()
        let body = AdminClient.scanBypassBody(
            reason: reason, repository: repositoryName, ref: refs.isEmpty ? nil : refs.joined(separator: ","),
            author: author.map { String($0.prefix(ScanBypass.maximumAuthorLength)) }, findings: findings)
        do {
            report.bypassAuditId = try await withAdminClient { client in try await client.recordScanBypass(body) }
        } catch let error as CLIError where error.unreachable {
            do {
                try PendingBypasses.queue(body)
                report.bypassQueuedIn = PendingBypasses.path
            } catch {
                report.problems.append(SourceProblem(path: PendingBypasses.path, message: "the bypass could not be recorded nor queued: \(error)"))
            }
        } catch {
            report.problems.append(SourceProblem(path: Profile.path, message: "the bypass could not be recorded on the server: \(error)"))
        }
    }

    /// Where the scan looked, for the server's records.
    private var source: String {
        if command.git { return "sigil scan --git \(repositoryName)" }
        if command.staged || command.preReceive || command.prePush { return "sigil scan hook in \(repositoryName)" }
        return "sigil scan " + (command.paths.isEmpty ? "." : command.paths.joined(separator: " "))
    }

    private var repositoryName: String {
        URL(fileURLWithPath: command.paths.first ?? FileManager.default.currentDirectoryPath).standardizedFileURL.path
    }

    /// Prints the report in the chosen format; a hook writes to standard error, where git shows it.
    private func print(_ report: ScanReport, leakSummary: String?) {
        let text: String
        switch command.format {
        case .json: text = report.json() + "\n"
        case .sarif: text = report.sarif(toolVersion: SigilVersion.current) + "\n"
        case .text:
            text = command.hook ? hookText(report) : report.text(colour: isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        }
        FileHandle(fileDescriptor: command.hook ? STDERR_FILENO : STDOUT_FILENO).write(Data(text.utf8))
        FileHandle.standardError.write(Data(((leakSummary.map { $0 + "\n" } ?? "") + report.warnings).utf8))
    }

    /// What a blocked (or bypassed) hook prints: each finding as `file:line rule value`, and
    /// how to get the secret out of history.
    private func hookText(_ report: ScanReport) -> String {
        guard !report.findings.isEmpty else { return "" }
        let what = command.preReceive || command.prePush ? "push" : "commit"
        var lines: [String] = []
        if let reason = report.bypassReason {
            lines.append("sigil: \(report.findings.count) secret(s) found; \(what) allowed by bypass: \(reason)")
            if let id = report.bypassAuditId { lines.append("sigil: the bypass is recorded in Sigil's audit log (event \(id))") }
            if let queue = report.bypassQueuedIn {
                lines.append("sigil: the Sigil server could not be reached; the bypass is queued in \(queue) and sent with the next sigil command that reaches it")
            }
        } else {
            lines.append("sigil: \(what) blocked: \(report.findings.count) secret(s) found")
        }
        for finding in report.sortedFindings {
            var line = "  \(finding.file):\(finding.line) \(finding.rule.id) \(finding.redacted)"
            if finding.validity != .unknown { line += " validity: \(finding.validity.rawValue)" }
            if let commit = finding.commit { line += " (commit \(commit.id.prefix(12)))" }
            lines.append(line)
        }
        if report.bypassReason == nil {
            let kind: HookInstaller.Kind = command.preReceive ? .preReceive : command.prePush ? .prePush : .preCommit
            lines += [
                "",
                "Revoke or rotate each secret first: treat it as already leaked. Then take it out:",
                command.staged
                    ? "  - edit the file (read the value from the environment or a vault), `git add` it and commit again."
                    : "  - in the last commit: edit the file, then `git commit --amend`;",
                command.staged ? "" : "  - in older commits not yet pushed: `git rebase -i <first-bad-commit>^` and edit each;",
                command.staged ? "" : "  - across a long history: `git filter-repo --replace-text expressions.txt`, then push again.",
                "A false positive? Add a `sigil:allow` comment on its line, or a .sigil-scan.toml allowlist entry.",
                "To go ahead anyway, give a reason (it is recorded): \(kind.bypassHint)",
            ].filter { !$0.isEmpty }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A one-line progress display on a terminal, rewritten in place.
final class Progress: Sendable {
    static func start(enabled: Bool) -> Progress? {
        enabled && isatty(STDERR_FILENO) == 1 ? Progress() : nil
    }

    @Sendable func update(files: Int, bytes: Int) {
        FileHandle.standardError.write(Data("\r\u{1B}[2KScanning: \(files) files, \(ScanReport.megabytes(bytes))".utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
