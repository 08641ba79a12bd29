import Synchronization

/// One read shared by every caller that arrived before it started.
///
/// A caller never gets the result of a read that was already running when it arrived, so it
/// sees every change committed before it called, as if it had read alone. Callers that arrive
/// while a read runs wait for the next one, which they then share: under load the database sees
/// one such query at a time instead of one per caller.
final class CoalescedRead<Value: Sendable>: Sendable {
    private struct Waiting {
        var running = false
        var callers: [CheckedContinuation<Value, any Error>] = []
    }

    private let read: @Sendable () async throws -> Value
    private let waiting = Mutex(Waiting())

    init(_ read: @escaping @Sendable () async throws -> Value) { self.read = read }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let start = waiting.withLock { waiting in
                waiting.callers.append(continuation)
                guard !waiting.running else { return false }
                waiting.running = true
                return true
            }
            if start { Task { await readForWaitingCallers() } }
        }
    }

    /// Reads for the callers waiting now, then again for those that came meanwhile, until none wait.
    private func readForWaitingCallers() async {
        while true {
            let callers = waiting.withLock { waiting in
                defer { waiting.callers = [] }
                if waiting.callers.isEmpty { waiting.running = false }
                return waiting.callers
            }
            if callers.isEmpty { return }
            do {
                let value = try await read()
                for caller in callers { caller.resume(returning: value) }
            } catch {
                for caller in callers { caller.resume(throwing: error) }
            }
        }
    }
}
