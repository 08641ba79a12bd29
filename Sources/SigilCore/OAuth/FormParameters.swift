/// An `application/x-www-form-urlencoded` body, decoded strictly: every parameter at most once,
/// valid percent-encoding and UTF-8. Unknown parameters are kept (and ignored by the grants), as
/// RFC 6749 §3.2 requires.
public struct FormParameters: Sendable, Equatable {
    public private(set) var values: [String: String] = [:]

    public subscript(name: String) -> String? { values[name] }

    public init(_ values: [String: String]) { self.values = values }

    public init(decoding body: some Collection<UInt8>) throws(OAuthError) {
        // One pass over the bytes: this runs on every token request.
        let bytes = Array(body)
        var start = 0
        while start < bytes.count {
            var end = start
            var equals: Int?
            while end < bytes.count, bytes[end] != UInt8(ascii: "&") {
                if equals == nil, bytes[end] == UInt8(ascii: "=") { equals = end }
                end += 1
            }
            defer { start = end + 1 }
            guard end > start else { continue }
            guard let name = FormParameters.percentDecode(bytes[start..<(equals ?? end)]) else {
                throw .malformedRequest("A form parameter name is not valid percent-encoded UTF-8 text without NUL.")
            }
            guard let value = FormParameters.percentDecode(bytes[(equals.map { $0 + 1 } ?? end)..<end]) else {
                throw .malformedRequest("The value of form parameter '\(OAuthError.quoted(name))' is not valid percent-encoded UTF-8 text without NUL.")
            }
            guard values[name] == nil else { throw .duplicateParameter(name) }
            values[name] = value
        }
    }

    /// Decodes `+` and `%XX`; `nil` on a broken escape, invalid UTF-8 or a NUL (which no
    /// parameter needs and PostgreSQL cannot store).
    public static func percentDecode(_ bytes: some Collection<UInt8>) -> String? {
        if !bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") || $0 == 0 }) {
            return String(validating: bytes, as: UTF8.self)
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): output.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next()?.hexDigitValue, let low = iterator.next()?.hexDigitValue else { return nil }
                output.append(high << 4 | low)
            default: output.append(byte)
            }
        }
        guard !output.contains(0) else { return nil }
        return String(validating: output, as: UTF8.self)
    }


    /// Encodes for a form body (RFC 1866 style, space as `%20`).
    public static func percentEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return output
    }

    /// The body text for `parameters`.
    public static func encode(_ parameters: [(String, String)]) -> String {
        parameters.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
    }
}
