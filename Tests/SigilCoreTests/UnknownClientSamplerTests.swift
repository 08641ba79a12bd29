import Foundation
import SigilCore
import Testing

/// How many rows failed sign-ins by unknown clients may add: a few a minute per source, plus one
/// summary of the rest.
@Suite struct UnknownClientSamplerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let attacker = UnknownClientSampler.Source(tenantId: "t", address: "203.0.113.9")

    @Test func theFirstFailuresOfAMinuteAreLoggedTheRestCountedAndSummarisedOnce() {
        var sampler = UnknownClientSampler(window: 60, rowsPerWindow: 3)
        let decisions = (0..<10).map { sampler.admit(attacker, at: start.addingTimeInterval(Double($0))) }
        #expect(decisions.map(\.log) == [true, true, true] + Array(repeating: false, count: 7))
        #expect(decisions.allSatisfy { $0.ended == nil })
        #expect(sampler.flush(at: start.addingTimeInterval(59)).isEmpty, "the minute is not over")

        // The next failure after the minute opens a new window and carries the summary.
        let next = sampler.admit(attacker, at: start.addingTimeInterval(61))
        #expect(next.log)
        #expect(next.ended == .init(source: attacker, count: 7, first: start.addingTimeInterval(3), last: start.addingTimeInterval(9)))
        #expect(sampler.flush(at: start.addingTimeInterval(200)).isEmpty, "the new window counted nothing")
    }

    @Test func flushSummarisesAFloodThatStopped() {
        var sampler = UnknownClientSampler(window: 60, rowsPerWindow: 1)
        for second in 0..<5 { _ = sampler.admit(attacker, at: start.addingTimeInterval(Double(second))) }
        let other = UnknownClientSampler.Source(tenantId: "t", address: "198.51.100.1")
        _ = sampler.admit(other, at: start)
        #expect(sampler.flush(at: start.addingTimeInterval(60)) == [.init(source: attacker, count: 4, first: start.addingTimeInterval(1), last: start.addingTimeInterval(4))])
        #expect(sampler.flush(at: start.addingTimeInterval(120)).isEmpty, "each summary is written once")
    }

    @Test func sourcesAreCountedApartPerTenantAndAddress() {
        var sampler = UnknownClientSampler(window: 60, rowsPerWindow: 1)
        #expect(sampler.admit(attacker, at: start).log)
        #expect(!sampler.admit(attacker, at: start).log)
        #expect(sampler.admit(.init(tenantId: "other", address: attacker.address), at: start).log)
        #expect(sampler.admit(.init(tenantId: "t", address: "198.51.100.1"), at: start).log)
    }

    @Test func manyAddressesShareOneWindowOnceTheTableIsFull() {
        var sampler = UnknownClientSampler(window: 60, rowsPerWindow: 1, maximumSources: 2)
        let logged = (0..<100).filter { sampler.admit(.init(tenantId: "t", address: "2001:db8::\($0)"), at: start).log }
        #expect(logged.count == 3, "two tracked addresses and one shared window for the rest")
        let summaries = sampler.flush(at: start.addingTimeInterval(60))
        #expect(summaries.map(\.count) == [97])
        #expect(summaries.first?.source.address == "other addresses")
    }

    @Test func aClockSteppedBackEndsTheWindowInsteadOfStretchingIt() {
        var sampler = UnknownClientSampler(window: 60, rowsPerWindow: 1)
        #expect(sampler.admit(attacker, at: start).log)
        #expect(!sampler.admit(attacker, at: start.addingTimeInterval(1)).log)
        // Ten minutes back: without the step counted as elapsed, the window would last eleven.
        let back = sampler.admit(attacker, at: start.addingTimeInterval(-600))
        #expect(back.log)
        #expect(back.ended?.count == 1)
        #expect(sampler.flush(at: start.addingTimeInterval(-1200)).count == 0, "the new window counted nothing")
        #expect(Date(timeIntervalSince1970: 100).hasElapsed(60, since: Date(timeIntervalSince1970: 50)) == false)
        #expect(Date(timeIntervalSince1970: 110).hasElapsed(60, since: Date(timeIntervalSince1970: 50)))
        #expect(Date(timeIntervalSince1970: 40).hasElapsed(60, since: Date(timeIntervalSince1970: 50)), "a step back counts as elapsed")
    }
}
