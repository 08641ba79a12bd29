import Foundation

/// The server's data folder: the SQLite file, TLS material, the key-encryption key and the
/// bootstrap administrator's key. Created 0700; secret files are written 0600.
public struct DataFolder: Sendable {
    public let url: URL

    public init(path: String) throws {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    public func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    /// Writes a file atomically: to a temporary name first, fsynced, then renamed into place, so a
    /// crash never leaves half a key behind.
    public func write(_ name: String, _ contents: String, secret: Bool) throws {
        try Self.writeAtomically(path(name), contents, mode: secret ? 0o600 : 0o644)
    }

    public static func writeAtomically(_ path: String, _ contents: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else {
            unlink(temporary)
            throw POSIXError(.EIO)
        }
        chmod(temporary, mode)
        guard rename(temporary, path) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }
}
