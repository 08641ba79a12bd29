import Foundation
import Synchronization

/// How long each stage of a connection may take, and how many connections may be open at once.
/// A connection that overruns a stage is closed, so a slow or stalled client holds a file
/// descriptor for a bounded time and cannot exhaust the server's.
public struct ConnectionLimits: Sendable, Equatable {
    /// From accept until the TLS handshake completes.
    public var handshake: Duration = .seconds(10)
    /// From the first byte of a request until its header block is complete.
    public var header: Duration = .seconds(20)
    /// From the end of the header block until the whole body has arrived.
    public var body: Duration = .seconds(30)
    /// Between requests on a kept-alive connection (and before the first one).
    public var idle: Duration = .seconds(60)
    /// Connections open at once; one more is closed as soon as it is accepted.
    public var maximumConnections = 1000

    public init() {}
}

/// The number of open connections, shared by every connection's guard.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)
    let maximum: Int

    init(maximum: Int) { self.maximum = maximum }

    /// Takes a place, or returns false (taking none) when all are taken.
    func admit() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < maximum {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { open.subtract(1, ordering: .relaxed) }
}
