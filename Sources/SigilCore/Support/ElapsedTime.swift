import Foundation

extension Date {
    /// Whether `interval` has passed between `earlier` and this time. A wall clock stepped back
    /// before `earlier` counts as passed: a cache or a schedule timed by the wall clock then
    /// refreshes or runs at once instead of freezing for as long as the step.
    public func hasElapsed(_ interval: TimeInterval, since earlier: Date) -> Bool {
        let elapsed = timeIntervalSince(earlier)
        return elapsed < 0 || elapsed >= interval
    }
}
