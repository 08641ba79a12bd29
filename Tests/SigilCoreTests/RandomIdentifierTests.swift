import Foundation
import SigilCore
import Testing

@Suite struct RandomIdentifierTests {
    @Test func randomIdsAreLowerCaseVersion4UUIDs() {
        let ids = (0..<1000).map { _ in RandomIdentifier.uuid() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(UUID(uuidString: id) != nil)
            #expect(id == id.lowercased())
            let characters = Array(id)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
        }
    }

    @Test func timeOrderedIdsAreVersion7AndSortByTheirMillisecond() {
        // Two milliseconds apart, so that no two share a millisecond (within one, order is random).
        let start = Date(timeIntervalSince1970: 1_795_000_000.5)
        let ids = (0..<100).map { RandomIdentifier.timeOrderedUUID(at: start.addingTimeInterval(Double($0) * 0.002)) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        let first = ids[0]
        #expect(UUID(uuidString: first) != nil)
        #expect(Array(first)[14] == "7")
        #expect("89ab".contains(Array(first)[19]))
        // The first 48 bits are the Unix time in milliseconds.
        let hex = first.replacingOccurrences(of: "-", with: "").prefix(12)
        #expect(UInt64(hex, radix: 16) == 1_795_000_000_500)
    }
}
