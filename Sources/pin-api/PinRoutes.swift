import Hummingbird
import PinCore
import PinKafka

/// The HTTP endpoints of pin-api.
struct PinRoutes: Sendable {
    let publisher: RecordPublisher
    let readiness: BrokerReadiness
    let metrics: APIMetrics
    let maxBody: Int
    /// Seconds a client should wait before retrying after a 503.
    let retryAfter: Int

    func add<Context: RequestContext>(to router: Router<Context>, token: String?) {
        router.get("healthz") { _, _ in json(.ok, Array(#"{"status":"ok"}"#.utf8)) }
        router.get("readyz") { _, _ in
            if readiness.isReady { return json(.ok, Array(#"{"status":"ready"}"#.utf8)) }
            return json(.serviceUnavailable, ErrorBody.message("not ready: \(readiness.problem ?? "unknown")"))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.prometheusText())))
        }
        let ingest = router.group()
        if let token { ingest.add(middleware: BearerTokenCheck(token: Array(token.utf8))) }
        ingest.post("pin") { request, _ in try await postPin(request) }
        ingest.post("pins") { request, _ in try await postPins(request) }
    }

    private func json(_ status: HTTPResponse.Status, _ body: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private var unavailableHeaders: HTTPFields { [.retryAfter: String(retryAfter)] }

    /// One pin: 200 with the stored record only after Kafka acknowledged it.
    private func postPin(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: maxBody)
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
            case .malformed: return json(.badRequest, ErrorBody.message("malformed JSON: \(error.description)"))
            case .invalid: return json(.unprocessableContent, ErrorBody.validation(error))
            }
        }
        let value = Array(encoder.buffer[record.value])
        switch await publisher.publish(key: Array(encoder.buffer[record.key]), value: value) {
        case .success:
            metrics.countRecords("accepted")
            return json(.ok, value)
        case .failure(let error):
            metrics.countRecords("failed")
            return json(
                .serviceUnavailable, ErrorBody.message("Kafka did not acknowledge the record: \(error.message)"),
                headers: unavailableHeaders)
        }
    }

    /// Many pins as NDJSON or a JSON array: each is validated and published on its own, and the
    /// answer reports every record. 200 when none failed; 503 when Kafka did not take some.
    private func postPins(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: maxBody)
        let items: [BatchItem]
        do {
            items = try BatchItem.parse(Array(buffer: body))
        } catch {
            return json(.badRequest, ErrorBody.message("\(error)"))
        }
        var outcomes = [BatchOutcome](repeating: .rejected(RecordError(kind: .invalid, fields: [])), count: items.count)
        await withTaskGroup(of: (Int, BatchOutcome).self) { group in
            for (position, item) in items.enumerated() {
                switch item.record {
                case .failure(let error):
                    outcomes[position] = .rejected(error)
                case .success(let pin):
                    group.addTask {
                        switch await publisher.publish(pin) {
                        case .success(let report): return (position, .accepted(pin.uniqueID, report))
                        case .failure(let error): return (position, .failed(error.message))
                        }
                    }
                }
            }
            for await (position, outcome) in group { outcomes[position] = outcome }
        }
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
        metrics.countRecords("accepted", accepted)
        metrics.countRecords("rejected", rejected)
        metrics.countRecords("failed", failed)
        let reply =
            Array(#"{"accepted":\#(accepted),"rejected":\#(rejected),"failed":\#(failed),"results":["#.utf8) + results
            + Array("]}".utf8)
        return failed > 0 ? json(.serviceUnavailable, reply, headers: unavailableHeaders) : json(.ok, reply)
    }
}

enum BatchOutcome: Sendable {
    case accepted(String, DeliveryReport)
    case rejected(RecordError)
    case failed(String)
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
