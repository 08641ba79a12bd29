/// Lets one write transaction of this process at a time into SQLite.
///
/// SQLite allows a single writer. Without the gate, concurrent writers wait inside SQLite's busy
/// handler on the thread pool's threads, where they can starve the writer that holds the lock of
/// the thread it needs to commit; with it they wait here, asynchronously, in arrival order.
actor WriterGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        // The releasing writer hands the gate over directly, so `busy` stays true.
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }

    /// Runs `body` holding the gate.
    nonisolated func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }
}
