import Foundation

/// Bounds what failed sign-ins by unknown clients add to the log. Per tenant and source address,
/// the first `rowsPerWindow` failures of each minute get a row of their own; the rest are counted
/// and, once the minute is over, written as one summary row. One client looping on a bad
/// `client_id` then adds at most `rowsPerWindow + 1` rows a minute, however fast it sends.
///
/// Failures by a known client (a wrong secret, a bad assertion) are always logged one by one:
/// they are what risk detection and an investigation need.
public struct UnknownClientSampler: Sendable {
    public struct Source: Hashable, Sendable {
        public let tenantId: String
        public let address: String

        public init(tenantId: String, address: String) {
            self.tenantId = tenantId
            self.address = address
        }
    }

    /// Failures that were counted instead of logged, for one summary row.
    public struct Summary: Equatable, Sendable {
        public let source: Source
        public let count: Int
        public let first: Date
        public let last: Date

        public init(source: Source, count: Int, first: Date, last: Date) {
            self.source = source
            self.count = count
            self.first = first
            self.last = last
        }
    }

    struct Window {
        let start: Date
        var logged = 0
        var counted = 0
        var first: Date?
        var last: Date?
    }

    public let window: TimeInterval
    public let rowsPerWindow: Int
    /// Sources tracked at once; beyond it, new addresses share one window per tenant, so a flood
    /// from many addresses is bounded too.
    public let maximumSources: Int
    static let otherAddresses = "other addresses"
    private var windows: [Source: Window] = [:]

    public init(window: TimeInterval = 60, rowsPerWindow: Int = 10, maximumSources: Int = 10_000) {
        self.window = window
        self.rowsPerWindow = rowsPerWindow
        self.maximumSources = maximumSources
    }

    /// Whether this failure gets a row of its own, and the summary of the source's previous
    /// window when that window has just ended with failures counted.
    public mutating func admit(_ source: Source, at now: Date) -> (log: Bool, ended: Summary?) {
        var source = source
        var ended: Summary?
        if let current = windows[source], now.hasElapsed(window, since: current.start) {
            ended = Self.summary(source, current)
            windows[source] = nil
        }
        if windows[source] == nil, windows.count >= maximumSources {
            source = Source(tenantId: source.tenantId, address: Self.otherAddresses)
        }
        var current = windows[source] ?? Window(start: now)
        let log = current.logged < rowsPerWindow
        if log {
            current.logged += 1
        } else {
            current.counted += 1
            current.first = current.first ?? now
            current.last = now
        }
        windows[source] = current
        return (log, ended)
    }

    /// Ends every window older than `window` and returns the summaries of those that counted
    /// failures; called periodically so the last burst of a flood is summarised too.
    public mutating func flush(at now: Date) -> [Summary] {
        var summaries: [Summary] = []
        for (source, current) in windows where now.hasElapsed(window, since: current.start) {
            if let summary = Self.summary(source, current) { summaries.append(summary) }
            windows[source] = nil
        }
        return summaries
    }

    private static func summary(_ source: Source, _ window: Window) -> Summary? {
        guard window.counted > 0, let first = window.first, let last = window.last else { return nil }
        return Summary(source: source, count: window.counted, first: first, last: last)
    }
}
