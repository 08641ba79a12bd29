import Synchronization

/// Work that many callers hand in one item at a time and one worker does in batches: the token
/// endpoint's group commit of sign-ins, and the PostgreSQL directory-generation read that
/// concurrent token requests share.
///
/// The first caller starts the worker. Callers that arrive while it works wait and go into its
/// next batch, so a batch begins only after every caller in it arrived: a read done for a batch
/// sees every change committed before each of its callers asked. Under load one batch serves many
/// callers; alone, a caller waits for its own batch only.
public final class BatchedWork<Item: Sendable, Output: Sendable>: Sendable {
    private struct Queue {
        var waiting: [(item: Item, caller: CheckedContinuation<Output, any Error>)] = []
        var working = false
        /// Items in the batch being done now.
        var inBatch = 0
    }

    private let maximumBatch: Int
    private let perform: @Sendable ([Item]) async -> [Result<Output, any Error>]
    private let queue = Mutex(Queue())

    /// `perform` does one batch and returns one result per item, in the items' order.
    public init(maximumBatch: Int = .max, perform: @escaping @Sendable ([Item]) async -> [Result<Output, any Error>]) {
        self.maximumBatch = maximumBatch
        self.perform = perform
    }

    /// Items handed in and not yet answered: those waiting and those in the batch being done.
    public var pending: Int { queue.withLock { $0.waiting.count + $0.inBatch } }

    /// Hands `item` in and waits for the result of the batch it went into.
    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { caller in
            let start = queue.withLock { queue in
                queue.waiting.append((item, caller))
                guard !queue.working else { return false }
                queue.working = true
                return true
            }
            if start { Task { await work() } }
        }
    }

    /// Does batches until nobody waits; one worker runs at a time.
    private func work() async {
        while true {
            let batch = queue.withLock { queue in
                let batch = Array(queue.waiting.prefix(maximumBatch))
                queue.waiting.removeFirst(batch.count)
                queue.inBatch = batch.count
                if batch.isEmpty { queue.working = false }
                return batch
            }
            if batch.isEmpty { return }
            let results = await perform(batch.map(\.item))
            precondition(results.count == batch.count, "BatchedWork: perform must return one result per item")
            for (entry, result) in zip(batch, results) { entry.caller.resume(with: result) }
        }
    }
}

extension BatchedWork where Item == Void {
    /// One `read` per batch, its result handed to every caller in the batch: a caller never gets a
    /// read that started before it asked.
    public convenience init(sharing read: @escaping @Sendable () async throws -> Output) {
        self.init { callers in
            let value: Result<Output, any Error>
            do {
                value = .success(try await read())
            } catch {
                value = .failure(error)
            }
            return Array(repeating: value, count: callers.count)
        }
    }
}
