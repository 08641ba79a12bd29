import Dispatch
import Logging
import Synchronization

/// One store's outages as its connection pools meet them (see `StoreOutage`): turns failures
/// into `StoreError.unavailable` and logs each outage's start and its end once, however many
/// pools see it (on SQLite, the pool of SQLKit connections and the sign-in batch connection).
/// The end is logged after `quietPeriod` without a failure, so a store that reads but cannot
/// write is one outage, not one per request.
final class OutageLog: Sendable {
    private struct State {
        /// When the outage under way began, and when it last failed a caller (monotonic nanoseconds).
        var since: UInt64?
        var lastFailure: UInt64 = 0
    }

    static let quietPeriod: UInt64 = 2_000_000_000

    /// The store, as `StoreOutage.classify` names it: the SQLite file, or PostgreSQL's host and port.
    private let place: String
    private let logger: Logger
    private let state = Mutex(State())

    init(place: String, logger: Logger) {
        self.place = place
        self.logger = logger
    }

    /// `error`, as `StoreError.unavailable` if it is an outage; logs the outage's start unless the
    /// store is `closing` (connections failing at shutdown are no outage).
    func failed(_ error: any Error, closing: Bool) -> any Error {
        guard let unavailable = StoreOutage.classify(error, place: place) else { return error }
        let started = state.withLock { state in
            state.lastFailure = DispatchTime.now().uptimeNanoseconds
            guard state.since == nil, !closing else { return false }
            state.since = state.lastFailure
            return true
        }
        if started { logger.error("store unavailable: \(unavailable); answering 503 with Retry-After until it is back") }
        return unavailable
    }

    /// A unit of work succeeded: logs the outage's end once it has been quiet long enough.
    func succeeded() {
        let now = DispatchTime.now().uptimeNanoseconds
        let ended: Double? = state.withLock { state in
            guard let since = state.since, now - state.lastFailure >= Self.quietPeriod else { return nil }
            state.since = nil
            return Double(state.lastFailure - since) / 1e9
        }
        if let ended { logger.notice("store available again: the outage lasted \(String(format: "%.1f", ended)) s") }
    }
}
