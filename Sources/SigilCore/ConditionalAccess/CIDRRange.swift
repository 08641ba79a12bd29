import Foundation

/// One IPv4 or IPv6 range of a named location, in canonical CIDR notation (Graph's
/// `iPv4CidrRange` / `iPv6CidrRange`). Parsing is strict: the prefix length is required, host
/// bits must be zero (the corrected range is suggested), and an IPv4-mapped IPv6 range is refused
/// in favour of the IPv4 range it stands for.
public struct CIDRRange: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case ipv4, ipv6

        /// Graph's `@odata.type` for a range of this family.
        public var odataType: String { self == .ipv4 ? "#microsoft.graph.iPv4CidrRange" : "#microsoft.graph.iPv6CidrRange" }
    }

    public let family: Family
    /// The first and last address, as numbers (IPv4 in the low 32 bits).
    public let first: UInt128
    public let last: UInt128
    public let prefixLength: Int
    /// The canonical text, such as `10.0.0.0/8` or `2001:db8::/32`.
    public let description: String

    /// Parses `text`; the violation's message says what to write instead.
    public init(_ text: String, field: String = "ipRanges") throws(DirectoryRuleViolation) {
        func refuse(_ message: String) -> DirectoryRuleViolation { DirectoryRuleViolation(field: field, message: message) }
        let shown = String(text.prefix(64))
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw refuse("'\(shown)' is not a CIDR range: write an address and a prefix length, such as 203.0.113.0/24 or 2001:db8::/32")
        }
        guard let bytes = IPNetwork.bytes(String(parts[0])) else {
            throw refuse("'\(shown)' is not a CIDR range: '\(parts[0].prefix(64))' is not an IPv4 or IPv6 address")
        }
        let bits = bytes.count * 8
        guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]), length <= bits else {
            throw refuse("'\(shown)' has an invalid prefix length: it must be a number from 0 to \(bits)")
        }
        var value: UInt128 = 0
        for byte in bytes { value = value << 8 | UInt128(byte) }
        let hostMask: UInt128 = length == bits ? 0 : UInt128.max >> (128 - (bits - length))
        let family: Family = bytes.count == 4 ? .ipv4 : .ipv6
        if family == .ipv6, length >= 96, value >> 32 == 0xffff {
            let v4 = CIDRRange.text(value & 0xffff_ffff, family: .ipv4)
            throw refuse("'\(shown)' is an IPv4-mapped IPv6 range; write the IPv4 range \(v4)/\(length - 96) instead")
        }
        let network = value & ~hostMask
        let canonical = "\(CIDRRange.text(network, family: family))/\(length)"
        guard value & hostMask == 0 else {
            throw refuse("'\(shown)' has host bits set after the /\(length) prefix; did you mean \(canonical)?")
        }
        self.family = family
        first = network
        last = network | hostMask
        prefixLength = length
        description = canonical
    }

    public func overlaps(_ other: CIDRRange) -> Bool {
        family == other.family && first <= other.last && other.first <= last
    }

    static func text(_ value: UInt128, family: Family) -> String {
        let count = family == .ipv4 ? 4 : 16
        return IPNetwork.text((0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * (count - 1 - $0))) })
    }
}

/// A client address as the evaluator matches it: an IPv4-mapped IPv6 address (a dual-stack
/// listener's view of an IPv4 peer, `::ffff:10.1.2.3`) is the IPv4 address it carries.
public struct ClientAddress: Sendable, Hashable {
    public let family: CIDRRange.Family
    public let value: UInt128

    /// Nil for anything that is not an address (`unknown`, a Unix socket's path).
    public init?(_ text: String) {
        guard let bytes = IPNetwork.bytes(text).map(IPNetwork.unmapped) else { return nil }
        var value: UInt128 = 0
        for byte in bytes { value = value << 8 | UInt128(byte) }
        (family, self.value) = (bytes.count == 4 ? .ipv4 : .ipv6, value)
    }
}
