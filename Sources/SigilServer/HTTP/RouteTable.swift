import HTTPTypes
import Hummingbird
import Synchronization

/// The methods each registered path answers, for `405 Method Not Allowed` with its `Allow` header
/// (RFC 9110 §15.5.6) when a known path is asked with another method. Filled once the router
/// has all its routes.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], method: String)]>([])

    func load(_ descriptions: [Router<SigilRequestContext>.RouteDescription]) {
        let loaded = descriptions.map { (segments: Self.segments("\($0.path)"), method: $0.method.rawValue) }
        routes.withLock { $0 = loaded }
    }

    /// The methods registered for `path`, sorted; empty when no route has that path.
    func methods(for path: String) -> [String] {
        let requested = Self.segments(path)
        let matching = routes.withLock { $0.filter { Self.matches($0.segments, requested) }.map(\.method) }
        return Set(matching).sorted()
    }

    private static func segments(_ path: String) -> [Substring] { path.split(separator: "/", omittingEmptySubsequences: true) }

    /// A `{name}` segment matches any one segment, `**` any rest, `*` any one; text matches itself.
    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        var index = 0
        for segment in pattern {
            if segment == "**" { return true }
            guard index < path.count else { return false }
            let isCapture = segment.hasPrefix("{") && segment.hasSuffix("}")
            if !(isCapture || segment == "*" || segment == path[index]) { return false }
            index += 1
        }
        return index == path.count
    }
}
