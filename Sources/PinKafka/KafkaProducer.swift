import CRdKafka
import Synchronization

/// A Kafka producer over one librdkafka handle.
///
/// Two ways to send:
/// - ``send(topic:partition:key:value:headers:)`` awaits the delivery report of one message;
/// - ``produce(topic:partition:key:value:headers:tag:)`` enqueues without waiting (the bulk path):
///   reports are counted in ``deliveryCounts`` and failures go to the `deliveryFailureHandler`;
///   call ``flush(timeout:)`` to wait for all of them.
///
/// Delivery reports are served on a dedicated thread that the producer owns. All methods are
/// safe to call from any thread. A full local queue (`queue.buffering.max.messages`/`kbytes`)
/// is handled by waiting for reports and retrying, so enqueueing blocks instead of failing, until
/// the `isInterrupted` check given at creation returns true.
public final class KafkaProducer: @unchecked Sendable {
    private let client: RDKafkaClient
    private let callbacks: ProducerCallbacks
    private let topics = Mutex<[String: OpaquePointer]>([:])
    private let enqueued = Atomic<Int>(0)
    private let maxMessageBytes: Int
    private let isInterrupted: (@Sendable () -> Bool)?
    private var pollThread: PollThread?

    /// - Parameter deliveryFailureHandler: called on the delivery-report thread for every failed
    ///   message enqueued with ``produce(topic:partition:key:value:headers:tag:)``, with its tag and
    ///   its value (valid during the call only).
    /// - Parameter isInterrupted: checked while enqueueing waits for room in a full queue; once it
    ///   returns true the wait ends with ``KafkaError/Code/queueFull`` (a tool stopping on a signal
    ///   while the broker is unreachable need not wait for `message.timeout.ms`).
    public init(
        configuration: KafkaProducerConfiguration,
        deliveryFailureHandler: (
            @Sendable (_ tag: UInt, _ error: KafkaError, _ value: UnsafeRawBufferPointer) -> Void
        )? = nil,
        isInterrupted: (@Sendable () -> Bool)? = nil
    ) throws(KafkaError) {
        self.isInterrupted = isInterrupted
        let callbacks = ProducerCallbacks(failureHandler: deliveryFailureHandler, logHandler: configuration.logHandler)
        self.callbacks = callbacks
        client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: configuration.librdkafkaProperties,
            callbacks: callbacks
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let opaque else { return }
                Unmanaged<ProducerCallbacks>.fromOpaque(opaque).takeUnretainedValue().delivered(message.pointee)
            }
        }
        var size = 32
        var text = [CChar](repeating: 0, count: size)
        _ = rd_kafka_conf_get(rd_kafka_conf(client.handle), "message.max.bytes", &text, &size)
        maxMessageBytes =
            Int(String(cBuffer: text)) ?? 1_000_000
        let client = self.client
        pollThread = PollThread {
            _ = rd_kafka_poll(client.handle, 100)
        } wake: {
            // rd_kafka_poll serves the main queue; yielding it ends the wait.
            let queue = rd_kafka_queue_get_main(client.handle)
            rd_kafka_queue_yield(queue)
            rd_kafka_queue_destroy(queue)
        }
    }

    deinit {
        pollThread?.stop()
        // Fail whatever is still queued so no awaiting caller is left hanging.
        _ = rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        _ = rd_kafka_poll(client.handle, 0)
        for rkt in topics.withLock({ $0.values }) { rd_kafka_topic_destroy(rkt) }
    }

    /// Sends one message and waits until the broker acknowledged it (or delivery failed).
    public func send(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8],
        headers: [KafkaHeader] = []
    ) async throws(KafkaError) -> DeliveryReport {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<DeliveryReport, KafkaError>, Never>) in
            key.withTypedBytes { key in
                value.withTypedBytes { value in
                    send(topic: topic, partition: partition, key: key, value: value, headers: headers) {
                        continuation.resume(returning: $0)
                    }
                }
            }
        }
        return try result.get()
    }

    /// Sends one message and calls `completion` with its delivery report: on the delivery-report
    /// thread, or at once on the calling thread when librdkafka refuses the message outright.
    /// The bytes are copied; `completion` is called exactly once and must not block.
    public func send(
        topic: String,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: [KafkaHeader] = [],
        completion: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    ) {
        let promise = Unmanaged.passRetained(DeliveryPromise(completion))
        do throws(KafkaError) {
            try enqueue(
                topic: topic, partition: partition, key: key, value: value, headers: headers,
                opaque: promise.toOpaque())
        } catch {
            promise.takeRetainedValue().complete(.failure(error))
        }
    }

    /// Enqueues one message without waiting for its delivery (the high-throughput path).
    /// The bytes are copied. Throws only when librdkafka refuses the message outright
    /// (too large, unknown partition, fatal producer state).
    /// - Parameter tag: any number identifying the message (e.g. its input line) for the failure handler.
    public func produce(
        topic: String,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: [KafkaHeader] = [],
        tag: UInt = 0
    ) throws(KafkaError) {
        let opaque = UnsafeMutableRawPointer(bitPattern: (tag << 1) | 1)
        try enqueue(topic: topic, partition: partition, key: key, value: value, headers: headers, opaque: opaque)
        enqueued.add(1, ordering: .relaxed)
    }

    /// ``produce(topic:partition:key:value:headers:tag:)`` with a topic handle looked up once
    /// (``topicHandle(_:)``), for callers that send many messages to one topic.
    func produce(
        _ topicHandle: OpaquePointer, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, tag: UInt
    ) throws(KafkaError) {
        let opaque = UnsafeMutableRawPointer(bitPattern: (tag << 1) | 1)
        try enqueue(topicHandle, partition: nil, key: key, value: value, headers: [], opaque: opaque)
        enqueued.add(1, ordering: .relaxed)
    }

    /// Array convenience for ``produce(topic:partition:key:value:headers:tag:)``.
    public func produce(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8],
        headers: [KafkaHeader] = [],
        tag: UInt = 0
    ) throws(KafkaError) {
        try key.withTypedBytes { (key) throws(KafkaError) in
            try value.withTypedBytes { (value) throws(KafkaError) in
                try produce(topic: topic, partition: partition, key: key, value: value, headers: headers, tag: tag)
            }
        }
    }

    /// Totals for messages sent with ``produce(topic:partition:key:value:headers:tag:)``.
    public var deliveryCounts: DeliveryCounts {
        let (delivered, failed) = callbacks.counts
        return DeliveryCounts(enqueued: enqueued.load(ordering: .relaxed), delivered: delivered, failed: failed)
    }

    /// Waits until every enqueued message has its delivery report.
    /// Throws ``KafkaError/Code/timedOut`` if some are still outstanding after `timeout`.
    public func flush(timeout: Duration) throws(KafkaError) {
        let err = rd_kafka_flush(client.handle, timeout.kafkaMilliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let left = rd_kafka_outq_len(client.handle)
            throw client.explained(KafkaError(err, "flush: \(left) messages still in flight"))
        }
    }

    /// Gives up on every message still queued or in flight: each gets its delivery report now,
    /// as a failure (`_PURGE_QUEUE` or `_PURGE_INFLIGHT`), though the broker may have stored some
    /// of those that were in flight.
    public func abandonPending() {
        _ = rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        _ = rd_kafka_poll(client.handle, 0)
    }

    /// The fatal error librdkafka raised, if any (for the idempotent producer, e.g. a sequence the
    /// broker no longer knows). From then on every message fails: the producer must be replaced.
    public var fatalFailure: KafkaError? {
        var text = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(client.handle, &text, text.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let message = String(cBuffer: text)
        return KafkaError(code: .init(rawValue: code.rawValue), message: message, isFatal: true)
    }

    /// Checks that the cluster answers (a metadata request), to fail fast on unreachable brokers
    /// or bad security settings instead of after `message.timeout.ms`. Returns the broker count.
    @discardableResult
    public func checkConnection(timeout: Duration = .seconds(10)) throws(KafkaError) -> Int {
        try client.brokerCount(timeout: timeout)
    }

    /// The partition ids of `topic` (from a metadata request).
    public func partitions(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32] {
        try client.partitions(topic: topic, timeout: timeout)
    }

    /// Low and high watermark of one partition.
    public func watermarks(topic: String, partition: Int32, timeout: Duration = .seconds(10)) throws(KafkaError)
        -> KafkaWatermarks
    {
        try client.watermarks(topic: topic, partition: partition, timeout: timeout)
    }

    private func enqueue(
        topic: String,
        partition: Int32?,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: [KafkaHeader],
        opaque: UnsafeMutableRawPointer?
    ) throws(KafkaError) {
        try enqueue(topicHandle(topic), partition: partition, key: key, value: value, headers: headers, opaque: opaque)
    }

    private func enqueue(
        _ rkt: OpaquePointer,
        partition: Int32?,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: [KafkaHeader],
        opaque: UnsafeMutableRawPointer?
    ) throws(KafkaError) {
        while true {
            let list = headers.isEmpty ? nil : Self.makeHeaders(headers)
            // A non-nil pointer even for empty values: librdkafka treats NULL as a null value.
            let error = crdkafka_produce(
                client.handle, rkt, partition ?? -1,
                key?.baseAddress ?? (key != nil ? UnsafeRawPointer(bitPattern: 1) : nil), key?.count ?? 0,
                value.baseAddress ?? UnsafeRawPointer(bitPattern: 1), value.count,
                list, opaque
            )
            guard let error else { return }
            if let list { rd_kafka_headers_destroy(list) }
            let code = rd_kafka_error_code(error)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                rd_kafka_error_destroy(error)
                // Nothing outstanding to wait for: this one message is larger than the queue.
                guard rd_kafka_outq_len(client.handle) > 0 else {
                    throw tooLarge(key: key, value: value, limit: "queue.buffering.max.kbytes")
                }
                if let isInterrupted, isInterrupted() {
                    throw KafkaError(code: .queueFull, message: "stopped waiting for room in the producer's queue")
                }
                // The poll thread usually serves the reports that make room, so wait briefly and
                // retry rather than for the next report, which may never come to this thread.
                _ = rd_kafka_poll(client.handle, 1)
                continue
            }
            if code == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE {
                rd_kafka_error_destroy(error)
                throw tooLarge(key: key, value: value, limit: "message.max.bytes (\(maxMessageBytes))")
            }
            throw KafkaError(consuming: error, "produce to \(String(cString: rd_kafka_topic_name(rkt)))")
        }
    }

    private func tooLarge(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer, limit: String) -> KafkaError {
        KafkaError(
            code: .messageSizeTooLarge, message: "message of \(value.count + (key?.count ?? 0)) bytes exceeds \(limit)")
    }

    /// librdkafka's handle for `topic`, created on first use and kept until the producer goes.
    func topicHandle(_ topic: String) throws(KafkaError) -> OpaquePointer {
        let result: OpaquePointer? = topics.withLock { cache in
            if let rkt = cache[topic] { return rkt }
            guard let rkt = rd_kafka_topic_new(client.handle, topic, nil) else { return nil }
            cache[topic] = rkt
            return rkt
        }
        guard let result else { throw KafkaError(rd_kafka_last_error(), "topic \(topic)") }
        return result
    }

    private static func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { _ = rd_kafka_header_add(list, header.key, -1, $0.baseAddress, $0.count) }
            } else {
                _ = rd_kafka_header_add(list, header.key, -1, nil, 0)
            }
        }
        return list
    }
}

/// The completion of one ``KafkaProducer/send(topic:partition:key:value:headers:completion:)``
/// call, passed to librdkafka as the message opaque (retained until its report).
private final class DeliveryPromise {
    let complete: @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    init(_ complete: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) {
        self.complete = complete
    }
}

/// Delivery-report state. Reports may arrive on the poll thread and on a thread in `flush`.
final class ProducerCallbacks: RDKafkaCallbacks, @unchecked Sendable {
    private let deliveredCount = Atomic<Int>(0)
    private let failedCount = Atomic<Int>(0)
    private let failureHandler: (@Sendable (UInt, KafkaError, UnsafeRawBufferPointer) -> Void)?

    init(
        failureHandler: (@Sendable (UInt, KafkaError, UnsafeRawBufferPointer) -> Void)?, logHandler: KafkaLogHandler?
    ) {
        self.failureHandler = failureHandler
        super.init(logHandler: logHandler)
    }

    /// Two counters read one after the other: each only grows, so a report arriving in between
    /// can only make the caller's `pending` one too high for a moment, never too low.
    var counts: (delivered: Int, failed: Int) {
        (deliveredCount.load(ordering: .acquiring), failedCount.load(ordering: .acquiring))
    }

    func delivered(_ message: rd_kafka_message_t) {
        let bits = UInt(bitPattern: message._private)
        if bits & 1 == 1 {
            let ok = message.err == RD_KAFKA_RESP_ERR_NO_ERROR
            if ok { deliveredCount.add(1, ordering: .releasing) } else { failedCount.add(1, ordering: .releasing) }
            if !ok, let failureHandler {
                failureHandler(
                    bits >> 1, error(of: message), UnsafeRawBufferPointer(start: message.payload, count: message.len))
            }
            return
        }
        guard let opaque = message._private else { return }
        let promise = Unmanaged<DeliveryPromise>.fromOpaque(opaque).takeRetainedValue()
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            var pointer = message
            let timestamp = rd_kafka_message_timestamp(&pointer, &type)
            promise.complete(
                .success(
                    DeliveryReport(
                        topic: String(cString: rd_kafka_topic_name(message.rkt)),
                        partition: message.partition,
                        offset: message.offset,
                        timestamp: type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
                    )
                )
            )
        } else {
            promise.complete(.failure(error(of: message)))
        }
    }

    private func error(of message: rd_kafka_message_t) -> KafkaError {
        var error = KafkaError(message.err, "delivery to \(String(cString: rd_kafka_topic_name(message.rkt)))")
        if message.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, let cause = lastClientError.withLock({ $0 }) {
            error.message += " (last broker error: \(cause.message))"
        }
        return error
    }
}
