import Foundation

extension Sequence<UInt8> {
    /// Upper-case hex, as certificate thumbprints are shown.
    public var upperHex: String { map { String(format: "%02X", $0) }.joined() }
}

extension StringProtocol {
    /// Whether any character is a control character (NUL, escapes, …), which no name, id or path
    /// segment needs.
    public var containsControlCharacters: Bool { unicodeScalars.contains { $0.properties.generalCategory == .control } }
}
