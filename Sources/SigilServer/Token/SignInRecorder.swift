import SigilCore
import SigilStore
import Synchronization

/// Group commit for the token endpoint. Requests that finish while a batch is being written
/// wait together and go into the next transaction, so under load many sign-ins (and assertion
/// ids) share one commit; alone, a request waits for its own commit only. A request is answered
/// only after its record has committed.
final class SignInRecorder: Sendable {
    static let maximumBatch = 256

    private struct Queue {
        var pending: [(record: SignInRecord, continuation: CheckedContinuation<Bool, any Error>)] = []
        var flushing = false
    }

    let store: Store
    private let queue = Mutex(Queue())

    init(store: Store) { self.store = store }

    /// Writes `record`; returns true when its assertion had been used before (a replay).
    func record(_ record: SignInRecord) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let startFlushing = queue.withLock { queue in
                queue.pending.append((record, continuation))
                guard !queue.flushing else { return false }
                queue.flushing = true
                return true
            }
            if startFlushing { Task { await flush() } }
        }
    }

    /// Writes batches until the queue is empty; one flush runs at a time.
    private func flush() async {
        while true {
            let batch = queue.withLock { queue in
                let batch = Array(queue.pending.prefix(Self.maximumBatch))
                queue.pending.removeFirst(batch.count)
                if batch.isEmpty { queue.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            do {
                let replayed = try await store.recordSignIns(batch.map(\.record))
                for (index, item) in batch.enumerated() { item.continuation.resume(returning: replayed.contains(index)) }
            } catch where batch.count > 1 {
                // One record the store refuses must not fail the others: write them one by one.
                for item in batch {
                    do {
                        item.continuation.resume(returning: !(try await store.recordSignIns([item.record])).isEmpty)
                    } catch {
                        item.continuation.resume(throwing: error)
                    }
                }
            } catch {
                for item in batch { item.continuation.resume(throwing: error) }
            }
        }
    }
}
