import Foundation

/// A named location: IPv4 and IPv6 ranges with a trusted flag (Graph's `ipNamedLocation`).
public struct NamedLocation: Sendable, Equatable {
    public static let odataType = "#microsoft.graph.ipNamedLocation"
    /// Most ranges one location may hold (Graph allows 2,000).
    public static let maximumRanges = 2000

    public var id: String
    public var displayName: String
    public var isTrusted: Bool
    public var ranges: [CIDRRange]
    public var createdAt: Date
    public var modifiedAt: Date

    public init(id: String, displayName: String, isTrusted: Bool, ranges: [CIDRRange], createdAt: Date, modifiedAt: Date) {
        self.id = id
        self.displayName = displayName
        self.isTrusted = isTrusted
        self.ranges = ranges
        self.createdAt = createdAt
        self.modifiedAt = modifiedAt
    }

    /// Parses Graph's `ipRanges`: `[{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "…"}]`
    /// (the type may be left out; when given it must fit the address). At least one range, none
    /// overlapping another of the same location.
    public static func ranges(_ value: JSONValue?) throws(DirectoryRuleViolation) -> [CIDRRange] {
        func refuse(_ message: String) -> DirectoryRuleViolation { DirectoryRuleViolation(field: "ipRanges", message: message) }
        guard let entries = value?.arrayValue, !entries.isEmpty else {
            throw refuse("ipRanges must list at least one range: [{\"cidrAddress\": \"203.0.113.0/24\"}]")
        }
        guard entries.count <= maximumRanges else { throw refuse("ipRanges may hold at most \(maximumRanges) ranges") }
        var ranges: [CIDRRange] = []
        for (index, entry) in entries.enumerated() {
            guard let object = entry.objectValue, let text = object["cidrAddress"]?.stringValue,
                object.keys.allSatisfy({ $0 == "cidrAddress" || $0 == "@odata.type" })
            else {
                throw refuse("ipRanges[\(index)] must be an object with cidrAddress (and optionally @odata.type)")
            }
            let range = try CIDRRange(text)
            if let type = object["@odata.type"], type != .string(range.family.odataType) {
                throw refuse("ipRanges[\(index)] is \(range) but its @odata.type is not \(range.family.odataType)")
            }
            ranges.append(range)
        }
        try checkOverlaps(ranges)
        return ranges
    }

    /// Refuses a range that repeats or overlaps another of the same location, naming both (a
    /// merged list would no longer be what the administrator wrote). Locations may overlap each
    /// other, as in Graph.
    public static func checkOverlaps(_ ranges: [CIDRRange]) throws(DirectoryRuleViolation) {
        let sorted = ranges.sorted { ($0.family == .ipv4 ? 0 : 1, $0.first) < ($1.family == .ipv4 ? 0 : 1, $1.first) }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.overlaps(next) {
            let what = previous == next ? "is listed twice" : "overlaps \(previous)"
            throw DirectoryRuleViolation(
                field: "ipRanges", message: "\(next) \(what) in the same location; list each address once (merge them into one range, or drop one)")
        }
    }

    /// The Graph JSON of the location.
    public var json: JSONValue {
        [
            "@odata.type": .string(Self.odataType), "id": .string(id), "displayName": .string(displayName), "isTrusted": .bool(isTrusted),
            "ipRanges": .array(ranges.map { ["@odata.type": .string($0.family.odataType), "cidrAddress": .string($0.description)] }),
            "createdDateTime": .string(createdAt.formatted(.iso8601)), "modifiedDateTime": .string(modifiedAt.formatted(.iso8601)),
        ]
    }
}
