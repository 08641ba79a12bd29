import Foundation
import SigilCore
import Synchronization

/// Whether the agent can reach its server. `degraded` (with the reason and since when) while
/// the server is unreachable and cached tokens are being served; `ok` again on the next answer.
public final class AgentHealth: Sendable {
    /// The health as `/healthz` shows it.
    public struct Status: Sendable, Equatable {
        /// Why the server could not be reached, or nil when it can.
        public var problem: String?
        public var since: Date

        public var isDegraded: Bool { problem != nil }
    }

    private let state: Mutex<Status>

    public init(now: Date = Date()) { state = Mutex(Status(problem: nil, since: now)) }

    public var status: Status { state.withLock { $0 } }

    /// The server answered (a refusal counts: it is reachable).
    public func serverAnswered(at now: Date = Date()) {
        state.withLock { if $0.problem != nil { $0 = Status(problem: nil, since: now) } }
    }

    /// The server could not be reached; `since` stays at the first failure.
    public func serverUnreachable(_ reason: String, at now: Date = Date()) {
        state.withLock { $0 = Status(problem: reason, since: $0.problem == nil ? now : $0.since) }
    }

    /// Records the outcome of one call to the server.
    func record(_ error: AgentServerError?) {
        if case .unreachable(let reason) = error { serverUnreachable(reason) } else { serverAnswered() }
    }

    /// `{"status":"ok"|"degraded","since":…[,"reason":…]}`.
    public var json: JSONValue {
        let status = self.status
        var object: [String: JSONValue] = ["status": .string(status.isDegraded ? "degraded" : "ok"), "since": .string(status.since.formatted(.iso8601))]
        if let problem = status.problem { object["reason"] = .string(problem) }
        return .object(object)
    }
}
