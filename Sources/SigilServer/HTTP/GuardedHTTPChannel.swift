import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOTLS
import SigilCore

/// HTTP/1.1 over TLS with Hummingbird's request handling, plus what a server facing untrusted
/// clients needs and Hummingbird's own channel lacks: a deadline on every stage of a connection,
/// a cap on open connections, `Connection: close` honoured for HTTP/1.0 and HTTP/1.1 alike, and
/// a `400` for a request with no `Host` or more than one (RFC 9112 §3.2).
struct GuardedHTTPChannel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: Responder
    let tls: NIOSSLContext
    let limits: ConnectionLimits
    let connections: ConnectionCount

    /// The server builder for `Application(server:)`.
    static func builder(tls: TLSConfiguration, limits: ConnectionLimits) throws -> HTTPServerBuilder {
        let context = try NIOSSLContext(configuration: tls)
        let connections = ConnectionCount(maximum: limits.maximumConnections)
        return HTTPServerBuilder { responder in
            GuardedHTTPChannel(responder: responder, tls: context, limits: limits, connections: connections)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let stages = ConnectionStages(channel: channel, limits: limits, logger: logger)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(NIOSSLServerHandler(context: tls))
            try pipeline.addHandler(TransportGuard(stages: stages, connections: connections))
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: .init())
            try pipeline.addHandler(RequestGuard(stages: stages))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: true))
            // Hummingbird's own state handler, for graceful shutdown (it closes idle connections
            // when the server quiesces); its idle timer is off, the stages above replace it.
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// The stage a connection is in and the one deadline that applies to it. Both guards of a
/// connection share it; they run on the connection's event loop, so it needs no lock.
final class ConnectionStages {
    enum Stage {
        case handshake, idle, header, body, responding
    }

    private(set) var stage = Stage.handshake
    private var deadline: Scheduled<Void>?
    private var requestsInFlight = 0
    private let channel: any Channel
    private let limits: ConnectionLimits
    private let logger: Logger

    init(channel: any Channel, limits: ConnectionLimits, logger: Logger) {
        self.channel = channel
        self.limits = limits
        self.logger = logger
    }

    func enter(_ next: Stage) {
        stage = next
        deadline?.cancel()
        deadline = nil
        let (limit, what): (Duration, String)
        switch next {
        case .handshake: (limit, what) = (limits.handshake, "finished no TLS handshake")
        case .idle: (limit, what) = (limits.idle, "sent no request")
        case .header: (limit, what) = (limits.header, "sent no complete request header")
        case .body: (limit, what) = (limits.body, "sent no complete request body")
        case .responding: return
        }
        let channel = self.channel
        let logger = self.logger
        deadline = channel.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(limit)) {
            logger.debug("closing a connection that \(what) within \(limit)", metadata: ["peer": "\(channel.remoteAddress?.description ?? "-")"])
            channel.close(promise: nil)
        }
    }

    func requestStarted() {
        requestsInFlight += 1
        enter(.body)
    }

    /// The body has arrived: the response is being made, or (when it went out before the body was
    /// read) the connection waits for the next request.
    func requestRead() {
        guard stage == .body else { return }
        enter(requestsInFlight == 0 ? .idle : .responding)
    }

    /// A response has gone out; a body still arriving keeps its own deadline.
    func responseWritten() {
        requestsInFlight -= 1
        if requestsInFlight == 0, stage == .responding { enter(.idle) }
    }

    func stop() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Sits between TLS and HTTP: counts the connection against the cap, ends the handshake stage
/// when TLS is up, and starts the header stage at a request's first byte.
final class TransportGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let stages: ConnectionStages
    private let connections: ConnectionCount
    private var admitted = false
    private var started = false

    init(stages: ConnectionStages, connections: ConnectionCount) {
        self.stages = stages
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        admitted = connections.admit()
        guard admitted else {
            context.close(promise: nil)
            return
        }
        stages.enter(.handshake)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stages.stop()
        if admitted {
            connections.release()
            admitted = false
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent, stages.stage == .handshake {
            stages.enter(.idle)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if stages.stage == .idle { stages.enter(.header) }
        context.fireChannelRead(data)
    }
}

/// Sits on parsed HTTP/1 parts: moves the stages along, refuses a request whose `Host` is missing
/// or repeated, and makes a request that does not keep the connection alive close it after its
/// response, saying so in the response.
final class RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let stages: ConnectionStages
    private var closeAfterResponse = false
    private var refused = false

    init(stages: ConnectionStages) { self.stages = stages }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(var head):
            let hosts = head.headers["Host"].count
            if hosts > 1 || (hosts == 0 && head.version.minor >= 1) {
                refuse(context, hosts > 1 ? "The request has \(hosts) Host headers; send exactly one." : "The request has no Host header; send one.")
                return
            }
            stages.requestStarted()
            if !head.isKeepAlive {
                closeAfterResponse = true
                head.headers.replaceOrAdd(name: "Connection", value: "close")
            }
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .end:
            stages.requestRead()
            context.fireChannelRead(data)
        case .body:
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where closeAfterResponse:
            head.headers.replaceOrAdd(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            stages.responseWritten()
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    /// Answers 400 in the token endpoint's error shape and closes: nothing after a malformed head
    /// on this connection can be trusted to be framed correctly.
    private func refuse(_ context: ChannelHandlerContext, _ message: String) {
        refused = true
        stages.stop()
        let body = JSONValue.object(["error": "invalid_request", "error_description": .string(message)]).serialized()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
