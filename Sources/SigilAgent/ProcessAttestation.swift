import Crypto
import Foundation
import NIOCore
import NIOPosix
import SigilCore
import Synchronization

/// Why a socket caller could not be attested; always a 400 for the caller.
public struct AttestationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `struct ucred` from `<sys/socket.h>` (glibc shows it only under `_GNU_SOURCE`): what
/// SO_PEERCRED returns, the peer's pid, uid and gid when it connected.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Identifies the process on the other end of a Unix-socket connection: the kernel's word for
/// its uid, gid and pid (SO_PEERCRED), a pidfd for exactly that process (SO_PEERPIDFD), and the
/// executable `/proc/PID/exe` shows, with its SHA-256. Then checks that the pid still names the
/// process that connected (`CallerContinuity`).
public enum ProcessAttestation {
    /// `SO_PEERPIDFD` (Linux 6.5+; glibc 2.36's headers predate it).
    static let peerPidfdOption: Int32 = 77
    /// Executables larger than this are refused rather than hashed.
    public static let maximumExecutableSize = 1 << 30

    /// Attests the peer of `channel`, a Unix-socket connection accepted at `acceptedAtTicks`.
    /// The executable is hashed only when `needsDigest(uid, gid)` says a rule for that user could
    /// look at the hash: any local user may call, and hashing is the costly part.
    public static func attest(
        _ channel: any Channel, acceptedAtTicks: UInt64, needsDigest: @escaping @Sendable (UInt32, UInt32) -> Bool = { _, _ in true }
    ) async throws(AttestationError) -> CallerProcess {
        guard let options = channel as? any SocketOptionProvider else { throw AttestationError("the connection is not a Unix socket") }
        let credentials: PeerCredentials
        do {
            credentials = try await options.unsafeGetSocketOption(level: .init(SOL_SOCKET), name: .init(SO_PEERCRED)).get()
        } catch {
            throw AttestationError("cannot read the caller's credentials (SO_PEERCRED): \(error)")
        }
        guard credentials.pid > 0 else { throw AttestationError("the caller's pid is not visible from the agent's pid namespace") }
        let pidfd: Int32? = try? await options.unsafeGetSocketOption(level: .init(SOL_SOCKET), name: .init(peerPidfdOption)).get()
        defer { if let pidfd { close(pidfd) } }
        let result = try? await NIOThreadPool.singleton.runIfActive {
            Result { () throws(AttestationError) in
                try attest(
                    uid: credentials.uid, gid: credentials.gid, pid: credentials.pid, pidfd: pidfd, acceptedAtTicks: acceptedAtTicks,
                    digest: needsDigest(credentials.uid, credentials.gid))
            }
        }
        guard let result else { throw AttestationError("the agent is shutting down") }
        return try result.get()
    }

    /// Attests process `pid` (whose credentials are `uid`/`gid`) as the peer of a connection
    /// accepted at `acceptedAtTicks` (clock ticks since boot); `pidfd`, when known, refers to
    /// exactly the process that connected. Blocking: reads `/proc` and, when `digest`, hashes
    /// the executable (`sha256` is empty otherwise, which no rule matches).
    public static func attest(
        uid: UInt32, gid: UInt32, pid: Int32, pidfd: Int32?, acceptedAtTicks: UInt64, digest: Bool = true
    ) throws(AttestationError) -> CallerProcess {
        let before = startTicks(of: pid)
        let executable = try? readExecutable(of: pid, digest: digest)
        let after = startTicks(of: pid)
        let exited = pidfd.map(hasExited) ?? false
        guard CallerContinuity.isSameProcess(startTicksBefore: before, startTicksAfter: after, acceptedAtTicks: acceptedAtTicks, exitedDuringReads: exited)
        else { throw AttestationError(CallerContinuity.refusal) }
        guard let executable else { throw AttestationError("cannot read the caller's executable (/proc/\(pid)/exe)") }
        return CallerProcess(uid: uid, gid: gid, pid: pid, path: executable.path, sha256: executable.sha256)
    }

    /// Now, in clock ticks since boot: the clock `/proc/PID/stat` states start times in.
    public static func bootTicks() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        let hertz = UInt64(sysconf(Int32(_SC_CLK_TCK)))
        return UInt64(now.tv_sec) * hertz + UInt64(now.tv_nsec) * hertz / 1_000_000_000
    }

    /// Field 22 of `/proc/PID/stat` (start time, in ticks since boot), nil when there is no such
    /// process. The command name (field 2) may hold spaces and parentheses: fields are counted
    /// after its closing parenthesis.
    public static func startTicks(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After ")": field 3 (state) is at index 0, so field 22 is at index 19.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// Whether the process a pidfd refers to has exited (the pidfd polls readable then).
    static func hasExited(_ pidfd: Int32) -> Bool {
        var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) != 0
    }

    /// The executable behind `/proc/PID/exe`: its path and (when `digest`) its SHA-256, read
    /// through `/proc` so the bytes are those the process runs even if the path was replaced since.
    static func readExecutable(of pid: Int32, digest: Bool = true) throws(AttestationError) -> (path: String, sha256: String) {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw AttestationError("cannot read /proc/\(pid)/exe") }
        let path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard digest else { return (path, "") }
        let descriptor = open("/proc/\(pid)/exe", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw AttestationError("cannot open /proc/\(pid)/exe") }
        defer { close(descriptor) }
        return (path, try ExecutableDigests.shared.digest(of: descriptor))
    }
}

/// SHA-256 of executables, remembered by device, inode, size and change time, so that a busy
/// caller's binary is not hashed again on every request. A file rewritten in place changes its
/// ctime (which no process can set back), so a stale digest is never served.
final class ExecutableDigests: Sendable {
    static let shared = ExecutableDigests()
    private static let capacity = 256

    private struct FileKey: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var changeSeconds: Int
        var changeNanoseconds: Int
    }

    private let digests = Mutex<[FileKey: String]>([:])

    func digest(of descriptor: Int32) throws(AttestationError) -> String {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw AttestationError("cannot stat the caller's executable") }
        guard status.st_size <= ProcessAttestation.maximumExecutableSize else {
            throw AttestationError("the caller's executable is larger than \(ProcessAttestation.maximumExecutableSize) bytes")
        }
        let key = FileKey(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
            changeSeconds: status.st_ctim.tv_sec, changeNanoseconds: status.st_ctim.tv_nsec)
        if let known = digests.withLock({ $0[key] }) { return known }
        var hasher = SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count >= 0 else { throw AttestationError("cannot read the caller's executable") }
            if count == 0 { break }
            total += count
            guard total <= ProcessAttestation.maximumExecutableSize else {
                throw AttestationError("the caller's executable is larger than \(ProcessAttestation.maximumExecutableSize) bytes")
            }
            hasher.update(data: chunk[..<count])
        }
        let digest = hasher.finalize().lowerHex
        digests.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[key] = digest
        }
        return digest
    }
}
