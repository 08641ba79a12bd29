/// Finds every occurrence of every detector keyword in one pass over the bytes.
///
/// At each position the next two bytes, as they are, index a 64 K-bit table of the keywords'
/// first two bytes (a case-insensitive keyword is entered in all four of its case variants). On
/// source code that table says no at almost every byte. On a yes, the candidate keywords of that
/// pair are compared four bytes at a time, then in full.
struct KeywordIndex: Sendable {
    /// Plain values only, so reading one in the hot loop costs no reference counting.
    struct Entry: Sendable {
        /// Where the keyword's bytes (lowered unless case-sensitive) are in `keywordBytes`.
        let offset: Int
        let length: Int
        let caseSensitive: Bool
        let detector: Int
        /// The first four bytes (lowered unless case-sensitive), and which of them are letters
        /// whose case is ignored (0x20 in those lanes).
        let head: UInt32
        let caseMask: UInt32
    }

    private let bigrams: [UInt64]
    /// For each two-byte pair with candidates: where they start in `entries`, and how many.
    private let bucketStart: [UInt16]
    private let bucketCount: [UInt8]
    private let entries: [Entry]
    private let keywordBytes: [UInt8]
    private static let lower: [UInt8] = (0...255).map { ASCII.lowercase(UInt8($0)) }

    init(_ detectors: [any Detector]) {
        var grouped: [Int: [Entry]] = [:]
        var keywordBytes: [UInt8] = []
        for (index, detector) in detectors.enumerated() {
            for keyword in detector.keywords {
                precondition(keyword.bytes.count >= 2, "keywords are at least two bytes")
                let lowered = keyword.caseSensitive ? keyword.bytes : keyword.bytes.map(ASCII.lowercase)
                var head: UInt32 = 0
                var mask: UInt32 = 0
                for lane in 0..<min(4, lowered.count) {
                    head |= UInt32(lowered[lane]) << (8 * lane)
                    let isLetter = (97...122).contains(lowered[lane])
                    if !keyword.caseSensitive && isLetter { mask |= 0x20 << (8 * lane) }
                }
                let entry = Entry(
                    offset: keywordBytes.count, length: lowered.count, caseSensitive: keyword.caseSensitive, detector: index,
                    head: head | mask, caseMask: mask)
                keywordBytes += lowered
                for first in Self.variants(lowered[0], keyword.caseSensitive) {
                    for second in Self.variants(lowered[1], keyword.caseSensitive) {
                        grouped[Int(first) | Int(second) << 8, default: []].append(entry)
                    }
                }
            }
        }
        var bigrams = [UInt64](repeating: 0, count: 65536 / 64)
        var bucketStart = [UInt16](repeating: 0, count: 65536)
        var bucketCount = [UInt8](repeating: 0, count: 65536)
        var entries: [Entry] = []
        for (key, list) in grouped.sorted(by: { $0.key < $1.key }) {
            bigrams[key >> 6] |= 1 << UInt64(key & 63)
            bucketStart[key] = UInt16(entries.count)
            bucketCount[key] = UInt8(list.count)
            entries += list
        }
        self.bigrams = bigrams
        self.bucketStart = bucketStart
        self.bucketCount = bucketCount
        self.entries = entries
        self.keywordBytes = keywordBytes
    }

    private static func variants(_ byte: UInt8, _ caseSensitive: Bool) -> [UInt8] {
        caseSensitive || !(97...122).contains(byte) ? [byte] : [byte, byte - 32]
    }

    /// Calls `found(detector, range)` for every keyword occurrence, in order of position.
    func forEachOccurrence(in bytes: UnsafeBufferPointer<UInt8>, _ found: (Int, Range<Int>) -> Void) {
        let count = bytes.count
        guard count >= 2, let base = bytes.baseAddress else { return }
        bigrams.withUnsafeBufferPointer { bigrams in
            let raw = UnsafeRawPointer(base)
            var index = 0
            let last = count - 1
            while index < last {
                // Little-endian: the first byte is the low one, as the table was built.
                let key = Int(raw.loadUnaligned(fromByteOffset: index, as: UInt16.self))
                if bigrams[key &>> 6] & (1 &<< UInt64(key & 63)) != 0 {
                    check(bytes, start: index, key: key, found)
                }
                index &+= 1
            }
        }
    }

    @inline(__always)
    private func check(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, key: Int, _ found: (Int, Range<Int>) -> Void) {
        let first = Int(bucketStart[key])
        let count = Int(bucketCount[key])
        let remaining = bytes.count - start
        var head: UInt32 = 0
        for lane in 0..<min(4, remaining) { head |= UInt32(bytes[start + lane]) << (8 * lane) }
        entries.withUnsafeBufferPointer { entries in
            keywordBytes.withUnsafeBufferPointer { keywordBytes in
                for position in first..<(first + count) {
                    let entry = entries[position]
                    let length = entry.length
                    guard length <= remaining else { continue }
                    let laneMask: UInt32 = length >= 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(length))) - 1
                    guard (head | entry.caseMask) & laneMask == entry.head & laneMask else { continue }
                    var offset = 4
                    if entry.caseSensitive {
                        while offset < length, bytes[start + offset] == keywordBytes[entry.offset + offset] { offset += 1 }
                    } else {
                        while offset < length, ASCII.lowercase(bytes[start + offset]) == keywordBytes[entry.offset + offset] { offset += 1 }
                    }
                    if offset >= length { found(entry.detector, start..<(start + length)) }
                }
            }
        }
    }
}
