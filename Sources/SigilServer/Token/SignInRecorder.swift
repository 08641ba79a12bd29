import CoreMetrics
import SigilCore
import SigilStore

/// Group commit for the token endpoint. Requests that finish while a batch is being written
/// wait together and go into the next one, so under load many sign-ins (and assertion ids)
/// share one statement; alone, a request waits for its own write only. A request is answered
/// only after its record has committed.
final class SignInRecorder: Sendable {
    static let maximumBatch = 256

    private let batches: BatchedWork<SignInRecord, Bool>

    /// `sigil_signin_recorder_batch_size`: records per batch written.
    static let batchSizeMetric = "sigil_signin_recorder_batch_size"
    /// Its buckets: powers of two up to `maximumBatch`.
    static let batchSizeBuckets: [Double] = (0...8).map { Double(1 << $0) }

    init(store: Store, metrics: any MetricsFactory) {
        let batchSize = Recorder(label: Self.batchSizeMetric, factory: metrics)
        batches = BatchedWork(maximumBatch: Self.maximumBatch) { records in
            batchSize.record(records.count)
            return await Self.write(records, to: store)
        }
    }

    /// Sign-ins handed in and not yet committed (`sigil_signin_recorder_queue`).
    var pending: Int { batches.pending }

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
