import Synchronization
import Testing

@testable import SigilStore

/// The PostgreSQL directory-generation read, shared by the token requests waiting for it.
@Suite struct CoalescedReadTests {
    @Test func callersShareTheNextReadAndNeverOneThatStartedBeforeThem() async throws {
        let started = Atomic<Int64>(0)
        let (release, releaser) = AsyncStream<Void>.makeStream()
        let reads = CoalescedRead { () async throws -> Int64 in
            let number = started.add(1, ordering: .sequentiallyConsistent).newValue
            if number == 1 { for await _ in release { break } }  // the first read runs until released
            return number
        }
        let first = Task { try await reads.value() }
        while started.load(ordering: .sequentiallyConsistent) == 0 { await Task.yield() }

        // 50 callers arrive while read 1 runs: read 1 may predate a change they must see.
        let later = (0..<50).map { _ in Task { try await reads.value() } }
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
        let reads = CoalescedRead { () async throws -> Int in
            if calls.add(1, ordering: .sequentiallyConsistent).newValue == 1 { throw Unavailable() }
            return 7
        }
        await #expect(throws: Unavailable.self) { try await reads.value() }
        #expect(try await reads.value() == 7)
    }
}
