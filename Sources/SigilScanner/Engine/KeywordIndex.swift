/// Finds every occurrence of every detector keyword in one pass over the bytes.
///
/// Each position's two bytes (lowercased) are looked up in a 64 K-bit table of the keywords'
/// first two bytes; only on a hit are the candidate keywords compared. On source code that table
/// says no at almost every byte, so the pass costs a few loads per byte.
struct KeywordIndex: Sendable {
    struct Entry: Sendable {
        let lowered: [UInt8]
        let original: [UInt8]
        let caseSensitive: Bool
        let detector: Int
    }

    private let bigrams: [UInt64]
    /// Candidate entries per bigram, only for bigrams whose bit is set.
    private let buckets: [UInt16: [Entry]]
    private static let lower: [UInt8] = (0...255).map { ASCII.lowercase(UInt8($0)) }

    init(_ detectors: [any Detector]) {
        var bigrams = [UInt64](repeating: 0, count: 65536 / 64)
        var buckets: [UInt16: [Entry]] = [:]
        for (index, detector) in detectors.enumerated() {
            for keyword in detector.keywords {
                precondition(keyword.bytes.count >= 2, "keywords are at least two bytes")
                let lowered = keyword.bytes.map(ASCII.lowercase)
                let key = UInt16(lowered[0]) << 8 | UInt16(lowered[1])
                bigrams[Int(key) >> 6] |= 1 << UInt64(key & 63)
                buckets[key, default: []].append(Entry(lowered: lowered, original: keyword.bytes, caseSensitive: keyword.caseSensitive, detector: index))
            }
        }
        self.bigrams = bigrams
        self.buckets = buckets
    }

    /// Calls `found(detector, range)` for every keyword occurrence, in order of position.
    func forEachOccurrence(in bytes: UnsafeBufferPointer<UInt8>, _ found: (Int, Range<Int>) -> Void) {
        let count = bytes.count
        guard count >= 2 else { return }
        Self.lower.withUnsafeBufferPointer { lower in
            bigrams.withUnsafeBufferPointer { bigrams in
                var previous = UInt16(lower[Int(bytes[0])])
                var index = 1
                while index < count {
                    let current = UInt16(lower[Int(bytes[index])])
                    let key = previous << 8 | current
                    previous = current
                    if bigrams[Int(key) >> 6] & (1 << UInt64(key & 63)) != 0 {
                        check(bytes, start: index - 1, key: key, lower: lower, found)
                    }
                    index += 1
                }
            }
        }
    }

    private func check(
        _ bytes: UnsafeBufferPointer<UInt8>, start: Int, key: UInt16, lower: UnsafeBufferPointer<UInt8>,
        _ found: (Int, Range<Int>) -> Void
    ) {
        guard let entries = buckets[key] else { return }
        for entry in entries {
            let length = entry.lowered.count
            guard start + length <= bytes.count else { continue }
            var offset = 2
            if entry.caseSensitive {
                if bytes[start] != entry.original[0] || bytes[start + 1] != entry.original[1] { continue }
                while offset < length, bytes[start + offset] == entry.original[offset] { offset += 1 }
            } else {
                while offset < length, lower[Int(bytes[start + offset])] == entry.lowered[offset] { offset += 1 }
            }
            if offset == length { found(entry.detector, start..<(start + length)) }
        }
    }
}
