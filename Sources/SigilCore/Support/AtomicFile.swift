import Foundation

/// Whole-file writes that never leave half a file behind: the server's data folder, the CLI's
/// profile and the agent's state folder (its private key above all) are written this way.
public enum AtomicFile {
    /// Writes `contents` to a temporary name beside `path` created with `mode`, fsyncs it, then
    /// renames it into place, so a crash leaves either the old file or the new one. The
    /// temporary file must be new and not a symbolic link, so nobody who can write to the folder
    /// can redirect the write (of a private key, say) elsewhere.
    public static func write(_ path: String, _ contents: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)  // a leftover of a crashed run of this pid
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode)
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
