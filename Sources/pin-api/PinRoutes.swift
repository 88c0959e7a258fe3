import NIOCore
import NIOHTTP1
import PinCore
import PinKafka
import Synchronization

/// One request as the routes see it, its body collected in full.
struct APIRequest {
    var method: HTTPMethod
    /// The path without its query.
    var path: Substring
    /// ``PinRoutes/routeName(_:)`` of the path.
    var route: String
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// One answer: a status, a body and its content type, and any further headers.
struct APIResponse: Sendable {
    var status: HTTPResponseStatus
    var body: [UInt8]
    var contentType = "application/json"
    var headers: [(name: String, value: String)] = []

    static func json(_ status: HTTPResponseStatus, _ body: [UInt8], headers: [(String, String)] = []) -> APIResponse {
        APIResponse(status: status, body: body, headers: headers.map { (name: $0.0, value: $0.1) })
    }
}

/// The HTTP endpoints of pin-api. A route answers through `respond`, at once or from the
/// producer's delivery-report thread once Kafka acknowledged; `respond` is called exactly once.
struct PinRoutes: Sendable {
    let publisher: RecordPublisher
    let readiness: BrokerReadiness
    let metrics: APIMetrics
    /// When set, POST routes require `Authorization: Bearer <token>`.
    let token: [UInt8]?
    /// Seconds a client should wait before retrying after a 503.
    let retryAfter: Int

    /// The route's name in metrics: its path without a trailing slash, or "other".
    static func routeName(_ path: Substring) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? path.dropLast() : path
        switch trimmed {
        case "/pin", "/pins", "/healthz", "/readyz", "/metrics": return String(trimmed)
        default: return "other"
        }
    }

    func handle(_ request: APIRequest, respond: @escaping @Sendable (APIResponse) -> Void) {
        let allowed: HTTPMethod
        switch request.route {
        case "/pin", "/pins": allowed = .POST
        case "/healthz", "/readyz", "/metrics": allowed = .GET
        default: return respond(.json(.notFound, ErrorBody.message("Not Found")))
        }
        // HEAD is GET without the body (the server leaves it out), as Starlette serves it.
        let method = request.method == .HEAD && allowed == .GET ? .GET : request.method
        guard method == allowed else {
            let allow = allowed == .GET ? "GET, HEAD" : "\(allowed)"
            return respond(
                .json(.methodNotAllowed, ErrorBody.message("Method Not Allowed"), headers: [("Allow", allow)]))
        }
        switch request.route {
        case "/healthz":
            respond(.json(.ok, Array(#"{"status":"ok"}"#.utf8)))
        case "/readyz":
            if readiness.isReady { return respond(.json(.ok, Array(#"{"status":"ready"}"#.utf8))) }
            respond(.json(.serviceUnavailable, ErrorBody.message("not ready: \(readiness.problem ?? "unknown")")))
        case "/metrics":
            respond(
                APIResponse(
                    status: .ok, body: Array(metrics.prometheusText().utf8), contentType: "text/plain; version=0.0.4"))
        default:
            guard isAuthorized(request.headers) else {
                return respond(
                    .json(
                        .unauthorized, ErrorBody.message("Not authenticated"), headers: [("WWW-Authenticate", "Bearer")]
                    ))
            }
            if request.route == "/pin" {
                postPin(request.body, respond: respond)
            } else {
                postPins(request.body, respond: respond)
            }
        }
    }

    private func isAuthorized(_ headers: HTTPHeaders) -> Bool {
        guard let token else { return true }
        let presented = headers.first(name: "authorization").map { Array($0.utf8) } ?? []
        return Self.constantTimeEqual(presented, Array("Bearer ".utf8) + token)
    }

    /// Compares without an early exit, so response time does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    private var unavailableHeaders: [(String, String)] { [("Retry-After", String(retryAfter))] }

    /// One pin: 200 with the stored record only after Kafka acknowledged it.
    private func postPin(_ body: ByteBuffer, respond: @escaping @Sendable (APIResponse) -> Void) {
        // Validated and encoded straight from the body's bytes: the same bytes go to Kafka and back.
        var encoder = RawPinEncoder()
        let record: RawPinEncoder.Encoded
        do {
            record = try body.withUnsafeReadableBytes { bytes throws(RecordError) in
                try encoder.encode(
                    UnsafeBufferPointer(
                        start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count))
            }
        } catch {
            metrics.countRecords("rejected")
            switch error.kind {
            case .malformed:
                return respond(.json(.badRequest, ErrorBody.message("malformed JSON: \(error.description)")))
            case .invalid: return respond(.json(.unprocessableEntity, ErrorBody.validation(error)))
            }
        }
        let value = Array(encoder.buffer[record.value])
        let unavailableHeaders = self.unavailableHeaders
        encoder.buffer.withUnsafeBytes { buffer in
            let key = UnsafeRawBufferPointer(rebasing: buffer[record.key])
            value.withUnsafeBytes { valueBytes in
                publisher.publish(key: key, value: valueBytes) { [metrics] result in
                    switch result {
                    case .success:
                        metrics.countRecords("accepted")
                        respond(.json(.ok, value))
                    case .failure(let error):
                        metrics.countRecords("failed")
                        respond(
                            .json(
                                .serviceUnavailable,
                                ErrorBody.message("Kafka did not acknowledge the record: \(error.message)"),
                                headers: unavailableHeaders))
                    }
                }
            }
        }
    }

    /// Many pins as NDJSON or a JSON array: each is validated and published on its own, and the
    /// answer reports every record. 200 when none failed; 503 when Kafka did not take some.
    private func postPins(_ body: ByteBuffer, respond: @escaping @Sendable (APIResponse) -> Void) {
        let items: [BatchItem]
        do {
            items = try BatchItem.parse(Array(buffer: body))
        } catch {
            return respond(.json(.badRequest, ErrorBody.message("\(error)")))
        }
        let collector = BatchCollector(items: items) { [metrics, unavailableHeaders] items, outcomes in
            let (reply, accepted, rejected, failed) = Self.batchReply(items, outcomes)
            metrics.countRecords("accepted", accepted)
            metrics.countRecords("rejected", rejected)
            metrics.countRecords("failed", failed)
            respond(failed > 0 ? .json(.serviceUnavailable, reply, headers: unavailableHeaders) : .json(.ok, reply))
        }
        for (position, item) in items.enumerated() {
            guard case .success(let pin) = item.record else { continue }
            publisher.publish(pin) { result in
                switch result {
                case .success(let report): collector.finish(position, .accepted(pin.uniqueID, report))
                case .failure(let error): collector.finish(position, .failed(error.message))
                }
            }
        }
        collector.finishRejected()
    }

    private static func batchReply(_ items: [BatchItem], _ outcomes: [BatchOutcome]) -> ([UInt8], Int, Int, Int) {
        var accepted = 0
        var rejected = 0
        var failed = 0
        var results = [UInt8]()
        for (item, outcome) in zip(items, outcomes) {
            if !results.isEmpty { results.append(UInt8(ascii: ",")) }
            results.append(contentsOf: "{\"\(item.positionName)\":\(item.position),\"status\":".utf8)
            switch outcome {
            case .accepted(let uniqueID, let report):
                accepted += 1
                results.append(
                    contentsOf:
                        #""accepted","unique_id":\#(JSONText.quoted(uniqueID)),"partition":\#(report.partition),"offset":\#(report.offset)}"#
                        .utf8)
            case .rejected(let error):
                rejected += 1
                results.append(contentsOf: #""rejected","detail":"#.utf8)
                if error.kind == .malformed {
                    JSONText.appendQuoted(error.description, to: &results)
                } else {
                    ErrorBody.appendDetail(error, prefix: [], to: &results)
                }
                results.append(UInt8(ascii: "}"))
            case .failed(let message):
                failed += 1
                results.append(contentsOf: #""failed","detail":\#(JSONText.quoted(message))}"#.utf8)
            }
        }
        let reply =
            Array(#"{"accepted":\#(accepted),"rejected":\#(rejected),"failed":\#(failed),"results":["#.utf8) + results
            + Array("]}".utf8)
        return (reply, accepted, rejected, failed)
    }
}

enum BatchOutcome: Sendable {
    case accepted(String, DeliveryReport)
    case rejected(RecordError)
    case failed(String)
}

/// Gathers the outcomes of one `POST /pins` body as their delivery reports arrive, on any thread,
/// and hands them over once every record has one.
final class BatchCollector: Sendable {
    private struct State {
        var outcomes: [BatchOutcome]
        /// Published records still without a report, plus one until the rejected ones are counted in.
        var waiting: Int
    }

    private let items: [BatchItem]
    private let state: Mutex<State>
    private let done: @Sendable ([BatchItem], [BatchOutcome]) -> Void

    init(items: [BatchItem], done: @escaping @Sendable ([BatchItem], [BatchOutcome]) -> Void) {
        self.items = items
        self.done = done
        var outcomes: [BatchOutcome] = []
        var published = 0
        for item in items {
            switch item.record {
            case .failure(let error): outcomes.append(.rejected(error))
            case .success:
                outcomes.append(.failed("not sent"))
                published += 1
            }
        }
        state = Mutex(State(outcomes: outcomes, waiting: published + 1))
    }

    func finish(_ position: Int, _ outcome: BatchOutcome) {
        complete { $0.outcomes[position] = outcome }
    }

    /// Called once every record was handed to the producer.
    func finishRejected() { complete { _ in } }

    private func complete(_ update: (inout State) -> Void) {
        let outcomes: [BatchOutcome]? = state.withLock { state in
            update(&state)
            state.waiting -= 1
            return state.waiting == 0 ? state.outcomes : nil
        }
        if let outcomes { done(items, outcomes) }
    }
}

/// One record of a `POST /pins` body, with where it was.
struct BatchItem: Sendable {
    /// `line` (1-based) for NDJSON, `item` (0-based) for a JSON array.
    var positionName: String
    var position: Int
    var record: Result<RawPin, RecordError>

    struct BodyError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ body: [UInt8]) throws -> [BatchItem] {
        let firstByte = body.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if firstByte == UInt8(ascii: "[") {
            guard case .array(let elements) = try JSONParser.parse(body) else {
                throw BodyError(description: "expected a JSON array")
            }
            return elements.enumerated().map { position, element in
                BatchItem(
                    positionName: "item", position: position,
                    record: Result { () throws(RecordError) in try RawPin(validating: element) })
            }
        }
        var items: [BatchItem] = []
        var reader = LineReader(bytes: body)
        try reader.forEachLine { number, line in
            items.append(
                BatchItem(
                    positionName: "line", position: number,
                    record: Result { () throws(RecordError) in try RawPin(parsing: line) }))
        }
        return items
    }
}
