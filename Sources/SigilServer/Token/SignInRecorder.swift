import SigilCore
import SigilStore

/// Group commit for the token endpoint. Requests that finish while a batch is being written
/// wait together and go into the next one, so under load many sign-ins (and assertion ids)
/// share one statement; alone, a request waits for its own write only. A request is answered
/// only after its record has committed.
final class SignInRecorder: Sendable {
    static let maximumBatch = 256

    private let batches: BatchedWork<SignInRecord, Bool>

    init(store: Store) {
        batches = BatchedWork(maximumBatch: Self.maximumBatch) { records in await Self.write(records, to: store) }
    }

    /// Writes `record`; returns true when its assertion had been used before (a replay).
    func record(_ record: SignInRecord) async throws -> Bool {
        try await batches.submit(record)
    }

    /// One batch: whether each record was a replay, or why it could not be written.
    private static func write(_ records: [SignInRecord], to store: Store) async -> [Result<Bool, any Error>] {
        do {
            let replayed = try await store.recordSignIns(records)
            return records.indices.map { .success(replayed.contains($0)) }
        } catch where records.count > 1 {
            // One record the store refuses must not fail the others: write them one by one.
            var results: [Result<Bool, any Error>] = []
            for record in records {
                do {
                    results.append(.success(!(try await store.recordSignIns([record])).isEmpty))
                } catch {
                    results.append(.failure(error))
                }
            }
            return results
        } catch {
            return records.map { _ in .failure(error) }
        }
    }
}
