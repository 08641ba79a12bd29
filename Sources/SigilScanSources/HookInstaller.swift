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

    /// The repository's hooks folder.
    static func hooksFolder(_ git: GitSource, repository: String?) async throws -> String {
        do {
            return try await git.output(["rev-parse", "--path-format=absolute", "--git-path", "hooks"]).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch let failure as GitSource.Failure {
            throw Failure(description: "\(repository ?? "this folder") is not a git repository (\(failure.description))")
        }
    }

    /// Installs the hook; returns its path. The hook runs the `sigil` on `PATH`, else the one at
    /// `executable` (where the installing `sigil` was), so a rebuilt, moved or upgraded `sigil`
    /// keeps working; with neither it blocks and says what is missing (a hook that let commits
    /// through unscanned would fail open).
    public static func install(_ kind: Kind, repository: String?, executable: String, force: Bool) async throws -> String {
        let git = GitSource(scanner: SecretScanner(), repository: repository)
        let hooks = try await hooksFolder(git, repository: repository)
        if kind == .preReceive {
            _ = try await git.output(["config", "receive.advertisePushOptions", "true"])
        }
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        let path = hooks + "/" + kind.rawValue
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), !existing.contains(marker), !force {
            throw Failure(description: "\(path) already exists and is not Sigil's; add the line `\(executable) \(kind.scanArguments)` to it yourself, or pass --force to replace it")
        }
        let quoted = "'" + executable.replacingOccurrences(of: "'", with: "'\\''") + "'"
        // The path inside the message's double quotes: nothing in it may expand.
        let shown = executable.reduce(into: "") { text, character in
            if "\\\"$`".contains(character) { text.append("\\") }
            text.append(character)
        }
        let script = """
            #!/bin/sh
            \(marker)
            # It blocks secrets; to go ahead anyway, give a reason: \(kind.bypassHint)
            # Remove it with `sigil scan hook uninstall --\(kind.rawValue)`.
            if command -v sigil >/dev/null 2>&1; then exec sigil \(kind.scanArguments); fi
            if [ -x \(quoted) ]; then exec \(quoted) \(kind.scanArguments); fi
            echo "sigil scan: no sigil on PATH, nor at \(shown);" \\
                "install sigil (or put it on PATH), or remove this hook with: sigil scan hook uninstall --\(kind.rawValue)" >&2
            exit 2

            """
        try Data(script.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        guard chmod(path, 0o755) == 0 else {
            throw Failure(description: "cannot make \(path) executable: \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// Removes the hook if Sigil wrote it; returns its path, or nil when there was none. A hook
    /// someone else wrote is left alone.
    public static func uninstall(_ kind: Kind, repository: String?) async throws -> String? {
        let git = GitSource(scanner: SecretScanner(), repository: repository)
        let path = try await hooksFolder(git, repository: repository) + "/" + kind.rawValue
        guard let existing = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        guard existing.contains(marker) else {
            throw Failure(description: "\(path) is not Sigil's hook; leaving it (remove Sigil's line from it yourself)")
        }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw Failure(description: "cannot remove \(path): \(error.localizedDescription)")
        }
        return path
    }
}
