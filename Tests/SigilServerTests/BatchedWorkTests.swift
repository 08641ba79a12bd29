import Synchronization
import Testing

@testable import SigilStore

/// One worker doing callers' work in batches, as the PostgreSQL directory-generation read (shared
/// by the token requests waiting for it) and the sign-in group commit use it.
@Suite struct BatchedWorkTests {
    @Test func callersShareTheNextReadAndNeverOneThatStartedBeforeThem() async throws {
        let started = Atomic<Int64>(0)
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let reads = BatchedWork<Void, Int64>(sharing: {
            let number = started.add(1, ordering: .sequentiallyConsistent).newValue
            if number == 1 { for await _ in release { break } }  // the first read runs until released
            return number
        })
        let first = Task { try await reads.submit(()) }
        while started.load(ordering: .sequentiallyConsistent) == 0 { await Task.yield() }

        // 50 callers arrive while read 1 runs: read 1 may predate a change they must see.
        let later = (0..<50).map { _ in Task { try await reads.submit(()) } }
        try await Task.sleep(for: .milliseconds(200))
        releaser.yield()
        #expect(try await first.value == 1)
        var values: [Int64] = []
        for task in later { values.append(try await task.value) }
        #expect(values.allSatisfy { $0 >= 2 }, "a caller got a read that started before it arrived: \(values)")
        #expect(started.load(ordering: .sequentiallyConsistent) <= 3, "the callers did not share reads")
    }

    @Test func aFailedReadFailsItsCallersAndTheNextReadRunsAgain() async throws {
        struct Unavailable: Error {}
        let calls = Atomic<Int>(0)
        let reads = BatchedWork<Void, Int>(sharing: {
            if calls.add(1, ordering: .sequentiallyConsistent).newValue == 1 { throw Unavailable() }
            return 7
        })
        await #expect(throws: Unavailable.self) { try await reads.submit(()) }
        #expect(try await reads.submit(()) == 7)
    }

    @Test func eachCallerGetsItsOwnItemsResultAndBatchesStayWithinTheirBound() async throws {
        let largest = Atomic<Int>(0)
        let doubling = BatchedWork<Int, Int>(maximumBatch: 8) { items in
            largest.max(items.count, ordering: .sequentiallyConsistent)
            try? await Task.sleep(for: .milliseconds(1))
            return items.map { .success($0 * 2) }
        }
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for item in 0..<100 { group.addTask { (item, try await doubling.submit(item)) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 100)
        #expect(results.allSatisfy { $0.value == $0.key * 2 })
        #expect(largest.load(ordering: .sequentiallyConsistent) <= 8)
        #expect(largest.load(ordering: .sequentiallyConsistent) > 1, "concurrent callers were never batched together")
    }
}
