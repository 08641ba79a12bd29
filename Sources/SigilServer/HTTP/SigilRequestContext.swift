import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SigilCore

/// The per-request context: Hummingbird's core storage plus the client's address, which the
/// sign-in and audit logs record.
public struct SigilRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The address the connection came from.
    public let peerAddress: String
    /// The client: the peer, or behind a trusted reverse proxy the address it forwarded
    /// (`ClientAddressMiddleware`).
    public var clientAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        clientAddress = peerAddress
    }

    /// Hummingbird's own cap; the routes read bodies with tighter, route-specific limits.
    public var maxUploadSize: Int { 1 << 20 }
}

/// Sets `clientAddress` from `X-Forwarded-For` when the peer is a trusted proxy.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = SigilRequestContext
    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !proxies.networks.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = proxies.clientAddress(peer: context.peerAddress, forwardedFor: request.headers[values: .xForwardedFor])
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// The most bytes any Sigil request body may carry (token requests and admin calls alike).
let maximumBodySize = 64 * 1024

enum BodyReadError: Error { case tooLarge }

extension Request {
    /// Collects the body, refusing anything over `limit` bytes.
    func collectBody(limit: Int = maximumBodySize) async throws(BodyReadError) -> [UInt8] {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit { throw .tooLarge }
        do {
            var buffer = try await body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            throw .tooLarge
        }
    }

    /// The media type of the body, lower-cased, without parameters.
    var mediaType: String? {
        // Without Foundation's `trimmingCharacters`, which cost 2 % of a token request's CPU.
        headers[.contentType].map { value in
            var type = value.prefix { $0 != ";" }
            while let first = type.first, first == " " || first == "\t" { type.removeFirst() }
            while let last = type.last, last == " " || last == "\t" { type.removeLast() }
            return type.lowercased()
        }
    }
}

extension Response {
    /// A JSON response. Errors and tokens are never cached by intermediaries.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json; charset=utf-8"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }
}

extension Date {
    /// RFC 3339 UTC text, as Graph writes `createdDateTime`.
    var iso8601: String { formatted(.iso8601) }
}

extension JSONValue {
    static func date(_ date: Date?) -> JSONValue { date.map { .string($0.iso8601) } ?? .null }
}
