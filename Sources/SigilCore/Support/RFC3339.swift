import Foundation

/// RFC 3339 date-times (`2026-01-31T12:00:00Z`, `…T12:00:00.5+05:30`), the `date-time` of JSON
/// Schema and OpenAPI: any offset from -23:59 to +23:59, fractional seconds, `t`/`z` in either case.
/// Foundation's ISO-8601 parser refuses offsets beyond ±14:00 and some fractions.
public enum RFC3339 {
    public static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 40 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, bytes[range].allSatisfy({ (48...57).contains($0) }) else { return nil }
            return bytes[range].reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        guard let year = number(0..<4), bytes[4] == 45, let month = number(5..<7), bytes[7] == 45, let day = number(8..<10),
            [84, 116, 32].contains(bytes[10]), let hour = number(11..<13), bytes[13] == 58, let minute = number(14..<16),
            bytes[16] == 58, let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == 46 {
            var end = index + 1
            while end < bytes.count, (48...57).contains(bytes[end]) { end += 1 }
            guard end > index + 1, let value = Double(String(decoding: bytes[index..<end], as: UTF8.self)) else { return nil }
            fraction = value
            index = end
        }
        var offset = 0
        switch bytes.count - index {
        case 1 where bytes[index] == 90 || bytes[index] == 122: offset = 0
        case 6 where (bytes[index] == 43 || bytes[index] == 45) && bytes[index + 3] == 58:
            guard let hours = number((index + 1)..<(index + 3)), let minutes = number((index + 4)..<(index + 6)), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == 45 ? -1 : 1)
        default: return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59))
        guard let base = calendar.date(from: components), calendar.component(.day, from: base) == day else { return nil }
        return base.addingTimeInterval(fraction - Double(offset))
    }
}
