import CRdKafka
import Synchronization

/// State that librdkafka's C callbacks reach through the configuration opaque. Subclasses add
/// producer or consumer state. It lives at least as long as the handle that calls into it.
class RDKafkaCallbacks: @unchecked Sendable {
    /// The most recent client-level error (broker down, name resolution, authentication),
    /// used to explain failures that librdkafka itself only reports as timeouts.
    let lastClientError = Mutex<KafkaError?>(nil)
    /// Receives librdkafka's log lines instead of its default print to stderr.
    let logHandler: KafkaLogHandler?

    init(logHandler: KafkaLogHandler? = nil) {
        self.logHandler = logHandler
    }

    func recordClientError(_ error: KafkaError) {
        lastClientError.withLock { $0 = error }
    }
}

/// The single owner of one `rd_kafka_t`; destroys it in `deinit`.
final class RDKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let callbacks: RDKafkaCallbacks

    /// Creates the handle. `configure` may install further callbacks on the configuration.
    init(
        type: rd_kafka_type_t,
        properties: [(String, String)],
        callbacks: RDKafkaCallbacks,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                // librdkafka's text may echo the value; keep secrets out of the message.
                let reason =
                    KafkaProperties.isSecret(key)
                    ? "invalid value"
                    : String(cBuffer: errorText)
                throw KafkaError(code: .invalidArgument, message: "configuration property \(key): \(reason)")
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
            guard let opaque else { return }
            let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            let message =
                reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(err)))
            callbacks.recordClientError(
                KafkaError(
                    code: .init(rawValue: err), message: message, isFatal: err == RD_KAFKA_RESP_ERR__FATAL.rawValue)
            )
        }
        if callbacks.logHandler != nil {
            rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
                guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
                let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                callbacks.logHandler?(
                    KafkaLogLevel(syslog: level),
                    facility.map { String(cString: $0) } ?? "",
                    message.map { String(cString: $0) } ?? ""
                )
            }
        }
        configure(conf)
        // rd_kafka_new takes ownership of conf only when it succeeds.
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = String(cBuffer: errorText)
            throw KafkaError(code: .invalidArgument, message: "cannot create Kafka client: \(reason)")
        }
        self.handle = handle
        self.callbacks = callbacks
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// The partition ids of `topic` from a metadata request.
    func partitions(topic: String, timeout: Duration) throws(KafkaError) -> [Int32] {
        try withMetadata(of: topic, timeout: timeout) { _, entry in
            (0..<Int(entry.partition_cnt)).map { entry.partitions[$0].id }.sorted()
        }
    }

    /// The leader of each partition of `topic` with a known leader, from a metadata request.
    func leaders(topic: String, timeout: Duration) throws(KafkaError) -> [Int32: KafkaBrokerAddress] {
        try withMetadata(of: topic, timeout: timeout) { metadata, entry in
            var brokers: [Int32: KafkaBrokerAddress] = [:]
            for index in 0..<Int(metadata.broker_cnt) {
                let broker = metadata.brokers[index]
                brokers[broker.id] = KafkaBrokerAddress(host: String(cString: broker.host), port: Int(broker.port))
            }
            var leaders: [Int32: KafkaBrokerAddress] = [:]
            for index in 0..<Int(entry.partition_cnt) {
                let partition = entry.partitions[index]
                if partition.err == RD_KAFKA_RESP_ERR_NO_ERROR, let leader = brokers[partition.leader] {
                    leaders[partition.id] = leader
                }
            }
            return leaders
        }
    }

    /// Asks for the metadata of `topic` and passes it, with the cluster's, to `body`.
    private func withMetadata<T>(
        of topic: String, timeout: Duration, _ body: (rd_kafka_metadata, rd_kafka_metadata_topic) -> T
    ) throws(KafkaError) -> T {
        guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(rd_kafka_last_error(), "topic \(topic)")
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, rkt, &metadata, timeout.kafkaMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw explained(KafkaError(err, "metadata for topic \(topic)"))
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(entry.err, "topic \(topic)") }
            return body(metadata.pointee, entry)
        }
        throw KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "topic \(topic)")
    }

    /// Asks the cluster for its brokers; returns how many it has. Fails when none answers in
    /// time, and early when a broker refused our credentials or TLS settings.
    func brokerCount(timeout: Duration) throws(KafkaError) -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let slice = Swift.min(deadline - clock.now, .milliseconds(500))
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(handle, 0, nil, &metadata, slice.kafkaMilliseconds)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
                defer { rd_kafka_metadata_destroy(metadata) }
                return Int(metadata.pointee.broker_cnt)
            }
            if let cause = callbacks.lastClientError.withLock({ $0 }), cause.isCredentialsProblem {
                throw KafkaError(
                    code: cause.code, message: "the broker refused the connection: \(cause.message)",
                    isFatal: cause.isFatal)
            }
            if clock.now >= deadline {
                throw explained(KafkaError(err, "no broker answered within \(timeout)"))
            }
        }
    }

    /// Low and high watermark (the next offset to be written) of one partition, from the broker.
    func watermarks(topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> KafkaWatermarks {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeout.kafkaMilliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw explained(KafkaError(err, "watermarks of \(topic)[\(partition)]"))
        }
        return KafkaWatermarks(low: low, high: high)
    }

    /// Adds the last broker-level error to timeouts, which otherwise say nothing about why.
    func explained(_ error: KafkaError) -> KafkaError {
        guard error.code == .timedOut || error.code == .messageTimedOut || error.code == .transport,
            let cause = callbacks.lastClientError.withLock({ $0 })
        else { return error }
        var result = error
        result.message += " (last broker error: \(cause.message))"
        return result
    }
}

/// The offsets bounding a partition: `low` is the first stored offset, `high` the next to be written.
public struct KafkaWatermarks: Sendable, Equatable {
    public var low: Int64
    public var high: Int64
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

extension Duration {
    /// Milliseconds for librdkafka's `int timeout_ms`, clamped, rounded up so small waits still wait.
    var kafkaMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let millis = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: millis)
    }
}
