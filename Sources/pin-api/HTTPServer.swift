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
                    // NIO's request decoder; the handler encodes its answers itself (one buffer and
                    // one write each) and keeps pipelined requests in order.
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
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
///
/// Requests are answered in the order they came. One that arrives while an earlier one waits for
/// its answer (pipelining) is queued, and reading stops until the queue is empty again; a client
/// that waits for each answer never causes that, so its socket stays registered for reading.
final class HTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

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
        /// An answer said "Connection: close"; nothing more is read.
        case closing
    }

    private let settings: Settings
    private var state = State.idle
    private var started = ContinuousClock.now
    /// Parts of requests that came while an earlier one was being answered.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    /// A read was asked for while requests were queued; it is passed on once they are handled.
    private var readHeld = false
    private var draining = false
    /// The client sent bytes that are not HTTP after the request now answered.
    private var closeAfterAnswer = false

    init(_ settings: Settings) { self.settings = settings }

    private var isAnswering: Bool {
        if case .answering = state { return true }
        return false
    }

    /// Whether the next part of a request can be handled now (not while an answer is awaited).
    private var isTakingParts: Bool {
        switch state {
        case .idle, .receiving, .discarding: true
        case .answering, .closing: false
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isAnswering || !queued.isEmpty {
            queued.append(part)
        } else {
            handle(part, context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if queued.isEmpty { context.read() } else { readHeld = true }
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            guard case .idle = state else { return }
            started = .now
            settings.metrics.requestStarted()
            let declared = head.headers.first(name: "content-length").flatMap { Int($0) }
            if let declared, declared > settings.maxBody {
                return refuseTooLarge(head, context: context)
            }
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                var buffer = context.channel.allocator.buffer(capacity: 32)
                buffer.writeString("HTTP/\(head.version.major).\(head.version.minor) 100 Continue\r\n\r\n")
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
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
                    target.value.handler.answer(response, for: asked, context: target.value.context)
                } else {
                    loop.execute { target.value.handler.answer(response, for: asked, context: target.value.context) }
                }
            }
        }
    }

    private func refuseTooLarge(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        state = .discarding
        let response = APIResponse.json(
            .payloadTooLarge, ErrorBody.message("request body over \(settings.maxBody) bytes"))
        write(response, for: Asked(head), context: context)
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

    /// Writes the routes' answer, then handles the requests queued behind it.
    private func answer(_ response: APIResponse, for asked: Asked, context: ChannelHandlerContext) {
        guard isAnswering else { return }  // the connection closed meanwhile
        state = .idle
        write(response, for: asked, context: context)
        guard !draining else { return }  // the loop below is already running, further up the stack
        draining = true
        while !queued.isEmpty, isTakingParts { handle(queued.removeFirst(), context: context) }
        draining = false
        if queued.isEmpty, readHeld {
            readHeld = false
            context.read()
        }
    }

    private func write(_ response: APIResponse, for asked: Asked, context: ChannelHandlerContext) {
        let head = asked.head
        let status = Int(response.status.code)
        settings.metrics.requestFinished(route: asked.route, status: status)
        if settings.accessLog {
            let milliseconds = (ContinuousClock.now - started).inSeconds * 1000
            settings.logger.info(
                "\(head.method) \(asked.path) \(status)", [("ms", String(format: "%.2f", milliseconds))])
        }
        let keepAlive = head.isKeepAlive && !ShutdownSignal.requested && !closeAfterAnswer
        var buffer = context.channel.allocator.buffer(capacity: 160 + response.body.count)
        HTTPResponseEncoding.write(
            response, version: head.version, keepAlive: keepAlive, withBody: head.method != .HEAD, into: &buffer)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        } else {
            writeLast(buffer, context: context)
        }
    }

    /// Writes a connection's last answer and closes it once written; nothing more is read.
    private func writeLast(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        state = .closing
        queued.removeAll()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Nothing read for the idle timeout: a connection between requests (or stuck in one) is closed;
    /// one whose record waits for Kafka is left to get its answer.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .read? = event as? IdleStateHandler.IdleStateEvent else {
            return context.fireUserInboundEventTriggered(event)
        }
        switch state {
        case .answering: break
        case .idle, .receiving, .discarding, .closing:
            settings.logger.debug("closing a connection idle for the --idle-timeout")
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A request cut off while its body was arriving gets no answer; one handed to the routes
        // still gets its answer counted then (and written into the void).
        if case .receiving = state { settings.metrics.requestAbandoned() }
        queued.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            settings.logger.debug("connection error: \(error)")
            return context.close(promise: nil)
        }
        // Not HTTP: the request being answered still gets its answer, then the connection closes.
        settings.logger.debug("malformed HTTP request: \(error)")
        queued.removeAll()
        switch state {
        case .answering:
            closeAfterAnswer = true
        case .closing:
            break
        case .idle, .receiving, .discarding:
            if case .receiving = state { settings.metrics.requestAbandoned() }
            var buffer = context.channel.allocator.buffer(capacity: 128)
            HTTPResponseEncoding.write(
                .json(.badRequest, ErrorBody.message("malformed HTTP request")), version: .http1_1,
                keepAlive: false, into: &buffer)
            writeLast(buffer, context: context)
        }
    }
}

/// An answer as HTTP/1.x bytes: status line, the headers pin-api sends, body.
enum HTTPResponseEncoding {
    /// Without `withBody` (an answer to HEAD) the head still gives the body's length, not the body.
    static func write(
        _ response: APIResponse, version: HTTPVersion, keepAlive: Bool, withBody: Bool = true,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeString(
            "HTTP/\(version.major).\(version.minor) \(response.status.code) \(response.status.reasonPhrase)\r\n")
        buffer.writeString("Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\n")
        for header in response.headers { buffer.writeString("\(header.name): \(header.value)\r\n") }
        if !keepAlive {
            buffer.writeString("Connection: close\r\n")
        } else if version == .http1_0 {
            buffer.writeString("Connection: keep-alive\r\n")
        }
        buffer.writeString("\r\n")
        if withBody { buffer.writeBytes(response.body) }
    }
}
