import Foundation

/// Random identifiers for records and tokens (sign-in ids, correlation and trace ids, `jti`).
///
/// Foundation's `UUID()` on Linux opens `/dev/urandom` for every UUID; the token endpoint makes
/// several per request and that showed as 3 % of its CPU. These come from the system's CSPRNG
/// (`getrandom`), with no file descriptor.
public enum RandomIdentifier {
    /// A version 4 UUID in lower case, as Entra writes ids: `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
    public static func uuid() -> String {
        var generator = SystemRandomNumberGenerator()
        return format(high: (generator.next() & ~0xF000) | 0x4000, low: generator.next())
    }

    /// A version 7 UUID (RFC 9562 §5.7): the Unix time in milliseconds, then random bits. Log
    /// records use it as their id so that ids grow with time and each insert lands at the end
    /// of the primary-key index instead of on a random page of it.
    public static func timeOrderedUUID(at time: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, time.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        return format(high: milliseconds << 16 | 0x7000 | (generator.next() & 0x0FFF), low: generator.next())
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `high` and `low` as the 8-4-4-4-12 text, with the RFC 4122 variant set in `low`.
    private static func format(high: UInt64, low: UInt64) -> String {
        let low = (low & ~(0xC << 60)) | (0x8 << 60)
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var position = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = nibble < 16 ? high : low
                buffer[position] = hexDigits[Int(word >> UInt64(60 - 4 * (nibble % 16)) & 0xF)]
                position += 1
            }
            return position
        }
    }
}
