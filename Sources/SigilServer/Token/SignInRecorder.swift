import SigilCore
import SigilStore

/// Group commit for the token endpoint. Requests that finish while a batch is being written
/// wait together and go into the next transaction, so under load many sign-ins (and assertion
/// ids) share one commit; alone, a request waits for its own commit only. A request is answered
/// only after its record has committed.
actor SignInRecorder {
    static let maximumBatch = 256

    let store: Store
    private var pending: [(record: SignInRecord, continuation: CheckedContinuation<Bool, any Error>)] = []
    private var flushing = false

    init(store: Store) { self.store = store }

    /// Writes `record`; returns true when its assertion had been used before (a replay).
    func record(_ record: SignInRecord) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((record, continuation))
            if !flushing {
                flushing = true
                Task { await flush() }
            }
        }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(Self.maximumBatch))
            pending.removeFirst(batch.count)
            do {
                let replayed = try await store.recordSignIns(batch.map(\.record))
                for (index, item) in batch.enumerated() { item.continuation.resume(returning: replayed.contains(index)) }
            } catch {
                for item in batch { item.continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
