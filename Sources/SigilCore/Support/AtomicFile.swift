import Foundation

/// Whole-file writes that never leave half a file behind: the server's data folder, the CLI's
/// profile and the agent's state folder (its private key above all) are written this way.
public enum AtomicFile {
    /// Writes `contents` to a temporary name beside `path` created with `mode`, fsyncs it, then
    /// renames it into place, so a crash leaves either the old file or the new one.
    public static func write(_ path: String, _ contents: String, mode: mode_t) throws {
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
