/// The rule that ties an attested process to the connection it is said to have made.
///
/// The kernel records the peer's pid when it connects; the agent then reads `/proc/PID`. If that
/// process exited meanwhile and the pid went to a new process, the agent would attest the wrong
/// program. So the process must have the same start time before and after the reads, must have
/// started no later than the connection was accepted, and (when the agent holds a pidfd for the
/// peer) must not have exited during the reads.
public enum CallerContinuity {
    /// The refusal every failed check gives the caller.
    public static let refusal = "the calling process exited or its pid was reused"

    /// Whether the process read from `/proc` is the one that connected. Start times are clock
    /// ticks since boot (`/proc/PID/stat` field 22), nil when the process was gone.
    public static func isSameProcess(startTicksBefore: UInt64?, startTicksAfter: UInt64?, acceptedAtTicks: UInt64, exitedDuringReads: Bool) -> Bool {
        guard let before = startTicksBefore, let after = startTicksAfter, !exitedDuringReads else { return false }
        return before == after && before <= acceptedAtTicks
    }
}
