import Foundation
import SigilStore
import Testing

/// How the store keeps time: milliseconds since 1970, truncated.
@Suite struct StoreTimeTests {
    /// A create response formats the time it wrote; a later listing formats the time it read back.
    /// Both must name the same second, even a hair before the second turns.
    @Test(arguments: [18.9996, 18.9999999, 18.0, 18.0004, -0.0004])
    func aTimeReadBackFallsInTheSameSecond(seconds: Double) {
        let written = Date(timeIntervalSince1970: seconds)
        let read = Date(epochMilliseconds: written.epochMilliseconds)
        #expect(floor(read.timeIntervalSince1970) == floor(written.timeIntervalSince1970))
        #expect(read <= written && written.timeIntervalSince(read) < 0.001)
    }
}
