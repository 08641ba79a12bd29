import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is a /32 or
/// /128).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    let address: [UInt8]
    let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.bytes(String(parts[0])) else { return nil }
        let maximum = address.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : maximum
        guard let length, (0...maximum).contains(length) else { return nil }
        self.address = address
        prefixLength = length
    }

    private init(address: [UInt8], prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public var description: String { "\(Self.text(address))/\(prefixLength)" }

    /// The network of `ipv4Prefix` (or `ipv6Prefix`) bits that holds the address `text`, host bits
    /// cleared; an IPv4-mapped IPv6 address counts as IPv4. Nil when `text` is not an address.
    public static func enclosing(_ text: String, ipv4Prefix: Int, ipv6Prefix: Int) -> IPNetwork? {
        guard var bytes = bytes(text).map(unmapped) else { return nil }
        let length = bytes.count == 4 ? ipv4Prefix : ipv6Prefix
        for index in bytes.indices {
            let kept = max(0, min(8, length - index * 8))
            bytes[index] &= UInt8(truncatingIfNeeded: 0xff << (8 - kept))
        }
        return IPNetwork(address: bytes, prefixLength: length)
    }

    /// Whether `text` (an address) lies in this network. IPv4-mapped IPv6 addresses match IPv4 networks.
    public func contains(_ text: String) -> Bool {
        guard var other = Self.bytes(text) else { return false }
        if address.count == 4 { other = Self.unmapped(other) }
        guard other.count == address.count else { return false }
        var remaining = prefixLength
        for index in address.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if address[index] & mask != other[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack listener
    /// sees an IPv4 peer) carries; any other address as it is.
    static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return bytes }
        return Array(bytes[12...])
    }

    /// The bytes of an IPv4 or IPv6 address, or nil.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func text(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The reverse proxies whose `X-Forwarded-For` the server believes (`sigil serve
/// --trusted-proxy`). The client is the right-most address in the header that is not one of
/// them: a client can prepend anything to the header, but every trusted proxy appends the address
/// it saw. A request that did not come from a trusted proxy is its peer, whatever it claims.
public struct TrustedProxies: Sendable, Equatable {
    public let networks: [IPNetwork]

    public init(_ networks: [IPNetwork]) { self.networks = networks }

    public func isTrusted(_ address: String) -> Bool { networks.contains { $0.contains(address) } }

    /// The client's address for a request from `peer` carrying these `X-Forwarded-For` values.
    public func clientAddress(peer: String, forwardedFor: [String]) -> String {
        guard isTrusted(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            guard IPNetwork.bytes(hop) != nil else { return client }  // garbage: stop at the last address a proxy vouched for
            client = hop
            if !isTrusted(hop) { return hop }
        }
        return client
    }
}
