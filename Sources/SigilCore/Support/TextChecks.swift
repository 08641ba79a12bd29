import Foundation

extension Sequence<UInt8> {
    /// Upper-case hex, as certificate thumbprints are shown.
    public var upperHex: String { map { String(format: "%02X", $0) }.joined() }

    /// Lower-case hex, as SHA-256 digests are exchanged.
    public var lowerHex: String { map { String(format: "%02x", $0) }.joined() }
}

extension UInt8 {
    /// The value of a hex digit (`0-9`, `a-f`, `A-F`), or nil.
    public var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension StringProtocol {
    /// Whether any character is a control character (NUL, escapes, …), which no name, id or path
    /// segment needs.
    public var containsControlCharacters: Bool { unicodeScalars.contains { $0.properties.generalCategory == .control } }
}
