import Foundation
import SigilScanner

/// Writes the git hooks that run the scanner: pre-commit (the staged change), pre-push (the
/// commits being pushed) and, for a bare repository on a git server, pre-receive (the commits a
/// push adds). An existing hook is never overwritten unless asked.
public enum HookInstaller {
    public enum Kind: String, Sendable, CaseIterable {
        case preCommit = "pre-commit"
        case prePush = "pre-push"
        case preReceive = "pre-receive"

        var scanArguments: String {
            switch self {
            case .preCommit: "scan --staged --hook"
            case .prePush: "scan --pre-push --hook"
            case .preReceive: "scan --pre-receive --hook"
            }
        }

        public var bypassHint: String {
            switch self {
            case .preCommit: "SIGIL_SCAN_BYPASS=\"reason\" git commit …"
            case .prePush: "SIGIL_SCAN_BYPASS=\"reason\" git push …"
            case .preReceive: "git push -o sigil-bypass=\"reason\""
            }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Marks a hook file as ours, so a reinstall may replace it.
    static let marker = "# Installed by `sigil scan hook install`."

    /// Installs the hook; returns its path.
    public static func install(_ kind: Kind, repository: String?, executable: String, force: Bool) async throws -> String {
        let git = GitSource(scanner: SecretScanner(), repository: repository)
        let hooks: String
        do {
            hooks = try await git.output(["rev-parse", "--path-format=absolute", "--git-path", "hooks"]).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch let failure as GitSource.Failure {
            throw Failure(description: "\(repository ?? "this folder") is not a git repository (\(failure.description))")
        }
        if kind == .preReceive {
            _ = try await git.output(["config", "receive.advertisePushOptions", "true"])
        }
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        let path = hooks + "/" + kind.rawValue
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), !existing.contains(marker), !force {
            throw Failure(description: "\(path) already exists and is not Sigil's; add the line `\(executable) \(kind.scanArguments)` to it yourself, or pass --force to replace it")
        }
        let script = """
            #!/bin/sh
            \(marker)
            # It blocks secrets; to go ahead anyway, give a reason: \(kind.bypassHint)
            exec '\(executable.replacingOccurrences(of: "'", with: "'\\''"))' \(kind.scanArguments)

            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        guard chmod(path, 0o755) == 0 else {
            throw Failure(description: "cannot make \(path) executable: \(String(cString: strerror(errno)))")
        }
        return path
    }
}
