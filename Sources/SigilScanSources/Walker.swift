import Foundation
import SigilScanner

/// Lists the files under the roots a scan was given. Inside folders it honours `.gitignore`
/// files (each applying to its own folder and below, as git reads them), skips `.git`, and does
/// not follow symbolic links; a root that is itself a link is followed.
struct Walker {
    struct File: Sendable {
        let path: String
        /// The path shown in findings: relative to the root folder, or as given for a file root.
        let display: String
        let size: Int
    }

    let options: FileSource.Options
    let scanner: SecretScanner
    private(set) var files: [File] = []
    private(set) var problems: [SourceProblem] = []

    init(options: FileSource.Options, scanner: SecretScanner) {
        self.options = options
        self.scanner = scanner
    }

    /// Adds a root. With several roots, paths are shown with their root in front so that two
    /// `c.env` files stay apart (in output and in fingerprints).
    mutating func add(root: String, showRoot: Bool) {
        var info = stat()
        guard stat(root, &info) == 0 else {
            problems.append(SourceProblem(path: root, message: "cannot read: \(String(cString: strerror(errno)))"))
            return
        }
        let shown = Self.normalized(root)
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            walk(folder: root, relative: "", shownPrefix: showRoot ? shown + "/" : "", ignores: [])
        case S_IFREG:
            files.append(File(path: root, display: shown, size: Int(info.st_size)))
        default:
            // A FIFO or a device would block or never end.
            problems.append(SourceProblem(path: root, message: "skipped: not a regular file or folder"))
        }
    }

    /// `./a/b/` → `a/b`.
    static func normalized(_ path: String) -> String {
        var text = Substring(path)
        while text.hasPrefix("./") { text = text.dropFirst(2) }
        while text.count > 1, text.hasSuffix("/") { text = text.dropLast() }
        return text.isEmpty ? "." : String(text)
    }

    /// The `.gitignore` rules in force in one folder.
    struct IgnoreScope {
        /// The folder the patterns are relative to, relative to the root ("" for the root).
        let base: String
        let list: GlobList
    }

    private mutating func walk(folder: String, relative: String, shownPrefix: String, ignores: [IgnoreScope]) {
        guard let directory = opendir(folder) else {
            problems.append(SourceProblem(path: relative.isEmpty ? folder : shownPrefix + relative, message: "cannot read folder: \(String(cString: strerror(errno)))"))
            return
        }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
        names.sort()
        var scopes = ignores
        if options.respectGitignore, names.contains(".gitignore"),
           let text = try? String(contentsOfFile: folder + "/.gitignore", encoding: .utf8) {
            // Split on line feeds alone: Swift sees "\r\n" as one character.
            scopes.append(IgnoreScope(base: relative, list: GlobList(lines: text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" })))
        }
        for name in names where name != ".git" {
            let path = folder + "/" + name
            let display = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else {
                problems.append(SourceProblem(path: shownPrefix + display, message: "cannot read: \(String(cString: strerror(errno)))"))
                continue
            }
            let kind = info.st_mode & S_IFMT
            // Links are not followed: a link loop cannot trap the walk, nothing is read twice.
            guard kind == S_IFDIR || kind == S_IFREG else { continue }
            let isDirectory = kind == S_IFDIR
            if isIgnored(display, isDirectory: isDirectory, scopes: scopes) || scanner.isAllowed(path: display) { continue }
            if isDirectory {
                walk(folder: path, relative: display, shownPrefix: shownPrefix, ignores: scopes)
            } else {
                files.append(File(path: path, display: shownPrefix + display, size: Int(info.st_size)))
            }
        }
    }

    private func isIgnored(_ path: String, isDirectory: Bool, scopes: [IgnoreScope]) -> Bool {
        for scope in scopes.reversed() {
            let local = scope.base.isEmpty ? path : String(path.dropFirst(scope.base.count + 1))
            if let verdict = scope.list.verdict(local, isDirectory: isDirectory) { return verdict }
        }
        return false
    }
}
