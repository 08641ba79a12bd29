import Foundation
import SigilCore

/// The server's data folder: the SQLite file, TLS material, the key-encryption key and the
/// bootstrap administrator's key. Kept 0700 (an existing folder is narrowed to it at every start);
/// secret files are written 0600.
public struct DataFolder: Sendable {
    public let url: URL

    public init(path: String) throws {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    public func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    /// Writes a file atomically: to a temporary name first, fsynced, then renamed into place, so a
    /// crash never leaves half a key behind.
    public func write(_ name: String, _ contents: String, secret: Bool) throws {
        try Self.writeAtomically(path(name), contents, mode: secret ? 0o600 : 0o644)
    }

    /// See `AtomicFile.write`.
    public static func writeAtomically(_ path: String, _ contents: String, mode: mode_t) throws {
        try AtomicFile.write(path, contents, mode: mode)
    }
}
