/// `scheme://user:password@host` (or `scheme://:password@host`): a password embedded in a URL.
public struct URLPasswordDetector: Detector {
    public var keywords: [Keyword] { [Keyword("://")] }

    static let schemeBytes = ByteSet(ranges: "0-9a-zA-Z+.\\-")
    /// Bytes that end a URL's authority before any `@` can come.
    static let authorityEnd = ByteSet(ranges: "/?\"'`<> \t\n\r\\()[]{},;")

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        var schemeStart = keyword.lowerBound
        while schemeStart > max(0, keyword.lowerBound - 32), Self.schemeBytes.contains(text[schemeStart - 1]) { schemeStart -= 1 }
        guard schemeStart < keyword.lowerBound, (65...122).contains(text[schemeStart]) else { return }
        var colon: Int?
        var at: Int?
        var position = keyword.upperBound
        while position < text.count, position - keyword.upperBound < 512 {
            let byte = text[position]
            if Self.authorityEnd.contains(byte) { break }
            if byte == UInt8(ascii: ":"), colon == nil { colon = position }
            if byte == UInt8(ascii: "@") { at = position }
            position += 1
        }
        // `rediss://:password@host`: the user may be empty.
        guard let colon, let at, colon < at, colon >= keyword.upperBound, at + 1 < text.count,
              ASCII.isAlphanumeric(text[at + 1]) || text[at + 1] == UInt8(ascii: "[")
        else { return }
        let password = (colon + 1)..<at
        let value = text.string(password).removingPercentEncoding ?? text.string(password)
        guard ValueJudgement.isPlausiblePassword(value, quoted: true) || (value.utf8.count >= 6 && ValueJudgement.isPlausibleSecret(value, quoted: true)) else { return }
        detections.append(Detection(rule: BuiltinRules.urlPassword, secret: password, match: schemeStart..<position))
    }
}

/// `Password=…;` in a `key=value;` connection string (ADO.NET, ODBC, JDBC properties), when the
/// string also names a server or user.
public struct ConnectionStringPasswordDetector: Detector {
    public var keywords: [Keyword] {
        ["password=", "pwd=", "password =", "pwd ="].map { Keyword($0, caseSensitive: false) }
    }

    static let maximumValue = 256
    /// Bytes that end an unquoted value: the separator, quotes, markup, white space.
    static let valueEnd = ByteSet(ranges: ";\"'< \t\r\n")

    static let context = ["server=", "host=", "data source=", "user id=", "uid=", "userid=", "username=", "user=", "database=", "initial catalog="]

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let before = text.at(keyword.lowerBound - 1)
        guard before == UInt8(ascii: ";") || before == UInt8(ascii: "\"") || before == UInt8(ascii: "'") || ASCII.isBlank(before) else { return }
        var start = keyword.upperBound
        while ASCII.isBlank(text.at(start)) { start += 1 }
        var end = start
        let quoted = text.at(start) == UInt8(ascii: "'") || text.at(start) == UInt8(ascii: "{")
        if quoted {
            let close = text.at(start) == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "'")
            start += 1
            end = start
            while end < text.count, end - start < Self.maximumValue, text[end] != close, text[end] != UInt8(ascii: "\n") { end += 1 }
        } else {
            while end < text.count, end - start < Self.maximumValue, !Self.valueEnd.contains(text[end]) { end += 1 }
        }
        guard end > start, end - start < Self.maximumValue else { return }
        let value = text.string(start..<end)
        guard ValueJudgement.isPlausiblePassword(value, quoted: true) else { return }
        // A server or user named nearby makes it a connection string.
        let around = max(0, keyword.lowerBound - 512)..<min(text.count, end + 512)
        guard Self.context.contains(where: { text.contains($0, in: around) }) else { return }
        detections.append(Detection(rule: BuiltinRules.connectionStringPassword, secret: start..<end, match: keyword.lowerBound..<end))
    }
}

/// Azure keys inside connection strings: `AccountKey=` (Storage, Cosmos DB) and
/// `SharedAccessKey=` (Service Bus, Event Hubs, Relay), told apart by the rest of the string.
public struct AzureConnectionStringDetector: Detector {
    public var keywords: [Keyword] { [Keyword("accountkey=", caseSensitive: false), Keyword("sharedaccesskey=", caseSensitive: false)] }

    static let keyBytes = ByteSet(ranges: "0-9A-Za-z+/=")

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let start = keyword.upperBound
        var end = start
        // Keys are 44 or 88 characters; a longer run is not one of them.
        while end < text.count, end - start <= 88, Self.keyBytes.contains(text[end]) { end += 1 }
        let length = end - start
        guard length == 88 || (43...44).contains(length) else { return }
        let value = text.string(start..<end)
        guard !ValueJudgement.isKnownExampleOrPlaceholder(value) else { return }
        let line = text.lineStart(before: keyword.lowerBound)..<text.lineEnd(after: end)
        let isShared = keyword.count == 16
        if isShared {
            guard (43...44).contains(length) else { return }
            detections.append(Detection(rule: BuiltinRules.azureServiceBusKey, secret: start..<end, match: line.lowerBound..<end))
            return
        }
        guard length == 88, value.hasSuffix("==") else { return }
        let rule: Rule
        if text.contains("accountendpoint=", in: line) || text.contains("documents.azure.com", in: line) {
            rule = BuiltinRules.azureCosmosDBKey
        } else if text.contains("accountname=", in: line) {
            rule = BuiltinRules.azureStorageConnectionString
        } else {
            rule = BuiltinRules.azureStorageAccountKey
        }
        detections.append(Detection(rule: rule, secret: start..<end, match: keyword.lowerBound..<end))
    }
}

/// Azure shared access signatures: a query string with `sv=` (the service version) and `sig=`.
public struct SASTokenDetector: Detector {
    public var keywords: [Keyword] { [Keyword("sig=")] }

    static let signatureBytes = ByteSet(ranges: "0-9A-Za-z%+/=")

    public init() {}

    public func detect(in text: ScanText, at keyword: Range<Int>, into detections: inout [Detection]) {
        let before = text.at(keyword.lowerBound - 1)
        // `&sig=`, `?sig=`, and `&amp;sig=` inside XML.
        let escapedAmpersand = before == UInt8(ascii: ";") && text.find("&amp", in: max(0, keyword.lowerBound - 5)..<keyword.lowerBound, ignoringCase: false) != nil
        guard before == UInt8(ascii: "&") || before == UInt8(ascii: "?") || escapedAmpersand else { return }
        let start = keyword.upperBound
        var end = start
        while end < text.count, end - start < 256, Self.signatureBytes.contains(text[end]) { end += 1 }
        guard end - start >= 43, end - start < 256 else { return }
        let query = max(text.lineStart(before: keyword.lowerBound), keyword.lowerBound - 2048)..<keyword.lowerBound
        guard text.contains("sv=", in: query, ignoringCase: false),
              text.contains("se=", in: query, ignoringCase: false) || text.contains("sp=", in: query, ignoringCase: false),
              !ValueJudgement.isKnownExampleOrPlaceholder(text.string(start..<end))
        else { return }
        detections.append(Detection(rule: BuiltinRules.azureSASToken, secret: start..<end))
    }
}

import Foundation
