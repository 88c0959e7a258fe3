import Hummingbird
import PinCore

/// Counts every request by route and status, tracks requests in flight, and writes the
/// access log line to stderr.
struct RequestObserver<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics
    let logger: StderrLogger
    let accessLog: Bool

    static var knownRoutes: Set<String> { ["/pin", "/pins", "/healthz", "/readyz", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        metrics.requestStarted()
        var path = request.uri.path
        if path.count > 1, path.hasSuffix("/") { path.removeLast() }
        let route = Self.knownRoutes.contains(path) ? path : "other"
        var status = 500
        defer {
            metrics.requestFinished(route: route, status: status)
            if accessLog {
                let milliseconds = (ContinuousClock.now - start).inSeconds * 1000
                logger.info(
                    "\(request.method) \(request.uri.path) \(status)",
                    [("ms", String(format: "%.2f", milliseconds))])
            }
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}

/// Requires `Authorization: Bearer <token>` on the ingest routes when a token is set.
struct BearerTokenCheck<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let presented = request.headers[.authorization].map { Array($0.utf8) } ?? []
        let expected = Array("Bearer ".utf8) + token
        guard Self.constantTimeEqual(presented, expected) else {
            return Response(
                status: .unauthorized,
                headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                body: .init(byteBuffer: ByteBuffer(bytes: ErrorBody.message("Not authenticated"))))
        }
        return try await next(request, context)
    }

    /// Compares without an early exit, so response time does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
