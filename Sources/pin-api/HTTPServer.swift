import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PinCore
import Synchronization

/// pin-api's HTTP/1.1 server: SwiftNIO's HTTP codec and one ``HTTPHandler`` per connection, with
/// keep-alive and pipelining. Handlers run on the event loops and never block: a record's answer
/// is written when its delivery report arrives.
struct HTTPServer: Sendable {
    let host: String
    let port: Int
    let threads: Int?
    let routes: PinRoutes
    let metrics: APIMetrics
    let logger: StderrLogger
    let maxBody: Int
    let accessLog: Bool
    /// Seconds a connection may stay silent (between requests or in one) before it is closed; nil: never.
    let idleTimeout: Double?

    /// Serves until SIGTERM or SIGINT (``ShutdownSignal``), then stops accepting, lets the requests
    /// in flight finish (up to `drainTimeout`) and closes every connection.
    /// - Parameter onListening: called with the bound address, once connections are accepted.
    func run(drainTimeout: Duration, onListening: (String) -> Void) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
        defer { try? group.syncShutdownGracefully() }
        let connections = ConnectionRegistry()
        let settings = HTTPHandler.Settings(
            routes: routes, metrics: metrics, logger: logger, maxBody: maxBody, accessLog: accessLog)
        let listener = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    if let idleTimeout {
                        let timeout = TimeAmount.milliseconds(Int64(idleTimeout * 1000))
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: timeout))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(settings))
                }
            }
            .bind(host: host, port: port).wait()
        let address = listener.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
        onListening(address)

        while !ShutdownSignal.requested { usleep(20_000) }
        try? listener.close().wait()
        // Answers written from now on say "Connection: close"; idle connections are closed below.
        let deadline = ContinuousClock.now + drainTimeout
        while metrics.requestsInFlight > 0, ContinuousClock.now < deadline, ShutdownSignal.count < 2 {
            usleep(5_000)
        }
        connections.closeAll()
    }
}

/// The open connections, so a shutdown can close the idle ones.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: id) } }
    }

    func closeAll() {
        let open = channels.withLock { Array($0.values) }
        for channel in open { try? channel.close().wait() }
    }
}

/// One connection's requests: collects each body (up to the limit), hands the request to the
/// routes and writes their answer, counting it and logging it on the way out.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Settings: Sendable {
        let routes: PinRoutes
        let metrics: APIMetrics
        let logger: StderrLogger
        let maxBody: Int
        let accessLog: Bool
    }

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// Answered 413; the rest of the body is read and dropped.
        case discarding
        /// Handed to the routes; the answer is on its way.
        case answering
    }

    private let settings: Settings
    private var state = State.idle
    private var started = ContinuousClock.now

    init(_ settings: Settings) { self.settings = settings }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            started = .now
            settings.metrics.requestStarted()
            let declared = head.headers.first(name: "content-length").flatMap { Int($0) }
            if let declared, declared > settings.maxBody {
                return refuseTooLarge(head, context: context)
            }
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            state = .receiving(head, context.channel.allocator.buffer(capacity: min(declared ?? 0, settings.maxBody)))
        case .body(var chunk):
            guard case .receiving(let head, var body) = state else { return }
            if body.readableBytes + chunk.readableBytes > settings.maxBody {
                return refuseTooLarge(head, context: context)
            }
            state = .answering  // lets `body` be appended to without a copy
            body.writeBuffer(&chunk)
            state = .receiving(head, body)
        case .end:
            guard case .receiving(let head, let body) = state else {
                if case .discarding = state { state = .idle }
                return
            }
            state = .answering
            let asked = Asked(head)
            let request = APIRequest(
                method: head.method, path: asked.path, route: asked.route, headers: head.headers, body: body)
            let loop = context.eventLoop
            let target = NIOLoopBound((handler: self, context: context), eventLoop: loop)
            settings.routes.handle(request) { response in
                if loop.inEventLoop {
                    target.value.handler.write(response, for: asked, context: target.value.context)
                } else {
                    loop.execute { target.value.handler.write(response, for: asked, context: target.value.context) }
                }
            }
        }
    }

    private func refuseTooLarge(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        state = .discarding
        let response = APIResponse.json(
            .payloadTooLarge, ErrorBody.message("request body over \(settings.maxBody) bytes"))
        write(response, for: Asked(head), context: context, keepState: true)
    }

    /// What answering a request needs of it: its head, and its path and route, worked out once.
    private struct Asked: Sendable {
        let head: HTTPRequestHead
        /// The path without its query.
        let path: Substring
        let route: String

        init(_ head: HTTPRequestHead) {
            self.head = head
            path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            route = PinRoutes.routeName(path)
        }
    }

    private func write(
        _ response: APIResponse, for asked: Asked, context: ChannelHandlerContext, keepState: Bool = false
    ) {
        // Accounts first: writing the end hands the next pipelined request to `channelRead` at once,
        // and its state and start time must not be overwritten by this one's afterwards.
        if !keepState { state = .idle }
        let head = asked.head
        let status = Int(response.status.code)
        settings.metrics.requestFinished(route: asked.route, status: status)
        if settings.accessLog {
            let milliseconds = (ContinuousClock.now - started).inSeconds * 1000
            settings.logger.info(
                "\(head.method) \(asked.path) \(status)", [("ms", String(format: "%.2f", milliseconds))])
        }

        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        for header in response.headers { headers.add(name: header.name, value: header.value) }
        let keepAlive = head.isKeepAlive && !ShutdownSignal.requested
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if head.version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
            promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Nothing read for the idle timeout: a connection between requests (or stuck in one) is closed;
    /// one whose record waits for Kafka is left to get its answer.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .read? = event as? IdleStateHandler.IdleStateEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        switch state {
        case .answering: break
        case .idle, .receiving, .discarding:
            settings.logger.debug("closing a connection idle for the --idle-timeout")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A request cut off while its body was arriving gets no answer; one handed to the routes
        // still gets its answer written (into the void) and counted then.
        if case .receiving = state { settings.metrics.requestAbandoned() }
        state = .idle
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settings.logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }
}
