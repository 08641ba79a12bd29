import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Limits on every outbound request Sigil makes (issuer metadata and keys, vault event webhooks).
public struct FetchLimits: Sendable {
    public var connectTimeout: Duration = .seconds(5)
    /// From the first byte sent to the last byte received, redirects included.
    public var totalTimeout: Duration = .seconds(10)
    public var maximumBytes = 512 * 1024
    public var maximumRedirects = 3

    public init() {}
}

/// Why an outbound fetch failed, in words an administrator can act on.
struct FetchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The one way Sigil fetches anything from the network: HTTPS GET (and the POST of a webhook),
/// with a connect timeout, a total deadline, a size cap, redirects followed by hand (each target
/// checked again), and an address guard that refuses loopback, private, link-local and other
/// non-public addresses unless the origin is one an administrator trusted. The guard checks the
/// address that is actually connected to (resolved once here), so DNS cannot change it between
/// check and use.
struct BoundedFetcher: Sendable {
    /// An origin (host and port) an administrator vouched for, and the CA its certificate chains to.
    struct TrustedOrigin: Sendable, Equatable {
        let host: String
        let port: Int
        let caPEM: String?

        init?(url: String, caPEM: String?) {
            guard let components = URLComponents(string: url), let host = components.host?.lowercased() else { return nil }
            self.host = host
            port = components.port ?? 443
            self.caPEM = caPEM
        }
    }

    let limits: FetchLimits

    /// GETs `url`, following up to `maximumRedirects` redirects. `trusted` exempts one origin from
    /// the address guard and supplies its CA.
    func get(_ url: String, trusted: TrustedOrigin? = nil) async throws(FetchError) -> [UInt8] {
        let deadline = NIODeadline.now() + TimeAmount(limits.totalTimeout)
        var current = url
        for _ in 0...limits.maximumRedirects {
            let target = try Self.target(current)
            let origin = trusted.flatMap { $0.host == target.host && $0.port == target.port ? $0 : nil }
            let address = try await Self.resolve(target, allowingPrivate: origin != nil, deadline: deadline)
            let response = try await request(target, address: address, caPEM: origin?.caPEM, deadline: deadline)
            switch response.status {
            case 200:
                return response.body
            case 301, 302, 303, 307, 308:
                guard let location = response.location, let next = URL(string: location, relativeTo: URL(string: current))?.absoluteString else {
                    throw FetchError("\(Self.shown(current)) redirected without a usable Location")
                }
                current = next
            default:
                throw FetchError("\(Self.shown(current)) answered HTTP \(response.status)")
            }
        }
        throw FetchError("\(Self.shown(url)) redirected more than \(limits.maximumRedirects) times")
    }

    /// POSTs `body` to a webhook and returns the answer's status; redirects are not followed (a
    /// redirect is an answer like any other). Only with `allowingPrivate`, which an administrator
    /// set on the webhook, may it be on a non-public address and plain HTTP.
    func post(_ url: String, body: [UInt8], headers: [(String, String)], allowingPrivate: Bool) async throws(FetchError) -> UInt {
        let deadline = NIODeadline.now() + TimeAmount(limits.totalTimeout)
        let target = try Self.target(url, allowingHTTP: allowingPrivate)
        let address = try await Self.resolve(target, allowingPrivate: allowingPrivate, deadline: deadline, refusal: Self.webhookRefusal)
        return try await request(target, address: address, caPEM: nil, deadline: deadline, method: .POST, headers: headers, body: body).status
    }

    static let webhookRefusal = "a webhook reaches such an address only when created with allowPrivateNetwork"

    struct Target {
        let host: String
        let port: Int
        let pathAndQuery: String
        let url: String
        let tls: Bool
    }

    /// The parts of `url`, which must be HTTPS (or plain HTTP when `allowingHTTP`).
    static func target(_ url: String, allowingHTTP: Bool = false) throws(FetchError) -> Target {
        guard let components = URLComponents(string: url), let host = components.host?.lowercased(), !host.isEmpty else {
            throw FetchError("'\(shown(url))' is not a URL")
        }
        let scheme = components.scheme?.lowercased()
        guard scheme == "https" || (allowingHTTP && scheme == "http") else { throw FetchError("\(shown(url)) is not HTTPS; Sigil fetches over HTTPS only") }
        guard components.user == nil, components.password == nil else { throw FetchError("\(shown(url)) carries a user name") }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let query = components.percentEncodedQuery.map { "?" + $0 } ?? ""
        let tls = scheme == "https"
        return Target(host: host, port: components.port ?? (tls ? 443 : 80), pathAndQuery: path + query, url: url, tls: tls)
    }

    /// The threads name lookups block on: a pool of their own, so a slow name server holds up
    /// neither NIO's shared pool nor anything else.
    static let resolverThreads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    /// Resolves the host and returns the address to connect to, refusing non-public addresses
    /// unless `allowingPrivate` (`refusal` says how an administrator allows one). A lookup that
    /// has not answered by `deadline` is abandoned.
    static func resolve(
        _ target: Target, allowingPrivate: Bool, deadline: NIODeadline = .distantFuture,
        refusal: String = "Sigil fetches such an issuer only after `sigil issuer trust`"
    ) async throws(FetchError) -> SocketAddress {
        let host = target.host.hasPrefix("[") && target.host.hasSuffix("]") ? String(target.host.dropFirst().dropLast()) : target.host
        let addresses: [SocketAddress]
        if let literal = try? SocketAddress(ipAddress: host, port: target.port) {
            addresses = [literal]
        } else {
            addresses = [try await lookUp(host, port: target.port, deadline: deadline)]
        }
        for address in addresses {
            if allowingPrivate || AddressGuard.isPublic(address) { return address }
        }
        throw FetchError(
            "\(shown(target.url)) is on a loopback, private or link-local address (\(addresses.first?.ipAddress ?? host)); \(refusal)")
    }

    /// Resolves `host` on `resolverThreads`, answering by `deadline` at the latest: a lookup still
    /// blocked in the resolver then finishes on its thread, and nobody waits for it.
    static func lookUp(_ host: String, port: Int, deadline: NIODeadline) async throws(FetchError) -> SocketAddress {
        let result: Result<SocketAddress, FetchError> = await withCheckedContinuation { continuation in
            let answered = Mutex(false)
            let answer = { @Sendable (result: Result<SocketAddress, FetchError>) in
                if answered.withLock({ done in defer { done = true }; return !done }) { continuation.resume(returning: result) }
            }
            let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(deadline: deadline) {
                answer(.failure(FetchError("the name \(host) did not resolve in time")))
            }
            resolverThreads.submit { state in
                guard case .active = state else { return answer(.failure(FetchError("cannot resolve \(host): shutting down"))) }
                do {
                    answer(.success(try SocketAddress.makeAddressResolvingHost(host, port: port)))
                } catch {
                    answer(.failure(FetchError("cannot resolve \(host)")))
                }
                timer.cancel()
            }
        }
        return try result.get()
    }

    struct Reply {
        let status: UInt
        let location: String?
        let body: [UInt8]
    }

    private func request(
        _ target: Target, address: SocketAddress, caPEM: String?, deadline: NIODeadline, method: HTTPMethod = .GET, headers: [(String, String)] = [],
        body: [UInt8] = []
    ) async throws(FetchError) -> Reply {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let caPEM {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
            } catch {
                throw FetchError("the trusted CA of \(target.host) is not a PEM certificate")
            }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw FetchError("cannot set up TLS: \(error)")
        }
        let serverName: String? = (try? SocketAddress(ipAddress: target.host, port: 0)) == nil && !target.host.hasPrefix("[") ? target.host : nil
        let secure = target.tls
        let maximumBytes = limits.maximumBytes
        let group = MultiThreadedEventLoopGroup.singleton
        let eventLoop = group.any()
        let promise = eventLoop.makePromise(of: Reply.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(limits.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if secure { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName)) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, maximumBytes: maximumBytes))
                }
            }
        let timeout = eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(FetchError("\(Self.shown(target.url)) did not answer in time"))
        }
        defer { timeout.cancel() }
        do {
            let channel = try await bootstrap.connect(to: address).get()
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.pathAndQuery)
            head.headers.add(name: "Host", value: target.port == (target.tls ? 443 : 80) ? target.host : "\(target.host):\(target.port)")
            head.headers.add(name: "Accept", value: "application/json")
            head.headers.add(name: "User-Agent", value: "sigil")
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if method == .POST { head.headers.add(name: "Content-Length", value: String(body.count)) }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
            try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(CancellationError())
            }
        } catch let error as FetchError {
            throw error
        } catch {
            promise.fail(error)
            switch error {
            case ChannelError.connectTimeout: throw FetchError("cannot connect to \(target.host):\(target.port) within \(limits.connectTimeout)")
            case is NIOSSLError, is BoringSSLError: throw FetchError("TLS with \(target.host):\(target.port) failed (\(error)); is its certificate signed by a trusted CA?")
            default: throw FetchError("cannot fetch \(Self.shown(target.url)): \(error)")
            }
        }
    }

    /// A URL as it may appear in a message: at most 200 characters.
    static func shown(_ url: String) -> String { url.count <= 200 ? url : String(url.prefix(200)) + "…" }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

/// Collects one HTTP response, failing as soon as the body passes the size cap.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<BoundedFetcher.Reply>
    private let maximumBytes: Int
    private var status: UInt = 0
    private var location: String?
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<BoundedFetcher.Reply>, maximumBytes: Int) {
        self.promise = promise
        self.maximumBytes = maximumBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status.code
            location = head.headers.first(name: "Location")
            if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > maximumBytes {
                promise.fail(FetchError("the answer is \(length) bytes; at most \(maximumBytes) are accepted"))
            }
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= maximumBytes else {
                promise.fail(FetchError("the answer is larger than \(maximumBytes) bytes"))
                context.close(promise: nil)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            promise.succeed(.init(status: status, location: location, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(FetchError("the connection closed before the answer was complete"))
    }
}

/// Which addresses count as public: not loopback, private (RFC 1918, unique-local), link-local,
/// carrier-grade NAT, unspecified, multicast or otherwise reserved.
enum AddressGuard {
    static func isPublic(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return isPublicV4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                return isPublicV4(UInt32(bytes[12]) << 24 | UInt32(bytes[13]) << 16 | UInt32(bytes[14]) << 8 | UInt32(bytes[15]))
            }
            if bytes.allSatisfy({ $0 == 0 }) || (bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1) { return false }  // :: and ::1
            if bytes[0] & 0xfe == 0xfc { return false }  // fc00::/7 unique local
            if bytes[0] == 0xfe, bytes[1] & 0xc0 == 0x80 { return false }  // fe80::/10 link-local
            if bytes[0] == 0xff { return false }  // multicast
            if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0d, bytes[3] == 0xb8 { return false }  // documentation
            if bytes[0] == 0x00, bytes[1] == 0x64, bytes[2] == 0xff, bytes[3] == 0x9b { return false }  // NAT64: hides a v4 address
            return true
        default:
            return false
        }
    }

    static func isPublicV4(_ address: UInt32) -> Bool {
        let blocked: [(UInt32, Int)] = [
            (0x0000_0000, 8),  // "this network"
            (0x0A00_0000, 8),  // 10/8
            (0x6440_0000, 10),  // 100.64/10 carrier-grade NAT
            (0x7F00_0000, 8),  // loopback
            (0xA9FE_0000, 16),  // 169.254/16 link-local (cloud metadata)
            (0xAC10_0000, 12),  // 172.16/12
            (0xC000_0000, 24),  // 192.0.0/24 protocol assignments
            (0xC000_0200, 24),  // documentation
            (0xC0A8_0000, 16),  // 192.168/16
            (0xC612_0000, 15),  // 198.18/15 benchmarking
            (0xC633_6400, 24),  // documentation
            (0xCB00_7100, 24),  // documentation
            (0xE000_0000, 4),  // multicast
            (0xF000_0000, 4),  // reserved, broadcast
        ]
        return !blocked.contains { network, bits in address >> UInt32(32 - bits) == network >> UInt32(32 - bits) }
    }
}
