import Foundation
import Logging
import SigilCore

/// One JSON object a line on standard error, for log collectors: `time` (ISO-8601 with
/// milliseconds), `level`, `logger`, `source` (the module), `message`, and the metadata's keys.
/// Chosen with `--log-format json`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: JSONValue] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { object[key] = .string("\(value)") }
        object["time"] = .string(Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        object["level"] = .string(event.level.rawValue)
        object["logger"] = .string(label)
        object["source"] = .string(event.source)
        object["message"] = .string("\(event.message)")
        FileHandle.standardError.write(Data((JSONValue.object(object).serialized() + "\n").utf8))
    }
}

/// How the server and agent write their logs.
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json

    /// Installs the handler for this format; call once, before the first `Logger` is made.
    public func bootstrap() {
        switch self {
        case .text: LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
    }
}
