import CRdKafka

/// Cluster administration and metadata: create topics, list partitions, read watermarks.
public final class KafkaAdmin: @unchecked Sendable {
    private let client: RDKafkaClient

    /// - Parameter properties: raw librdkafka properties (security settings and the like).
    public init(
        bootstrapServers: String,
        properties: [String: String] = [:],
        logHandler: KafkaLogHandler? = nil
    ) throws(KafkaError) {
        client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: [("bootstrap.servers", bootstrapServers)] + properties.sorted { $0.key < $1.key },
            callbacks: RDKafkaCallbacks(logHandler: logHandler)
        )
    }

    /// Creates `name` with `partitions` partitions. Throws ``KafkaError/Code/topicAlreadyExists``
    /// if it exists.
    public func createTopic(
        _ name: String,
        partitions: Int,
        replicationFactor: Int = 1,
        timeout: Duration = .seconds(30)
    ) throws(KafkaError) {
        var errorText = [CChar](repeating: 0, count: 512)
        guard
            let newTopic = rd_kafka_NewTopic_new(
                name, Int32(partitions), Int32(replicationFactor), &errorText, errorText.count)
        else {
            let reason = String(cBuffer: errorText)
            throw KafkaError(code: .invalidArgument, message: "create topic \(name): \(reason)")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.kafkaMilliseconds, &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.kafkaMilliseconds, &errorText, errorText.count)
        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(client.handle, &topics, 1, options, queue)
        // Allow for the request timeout plus a margin before giving up on the result event.
        guard let event = rd_kafka_queue_poll(queue, (timeout + .seconds(5)).kafkaMilliseconds) else {
            throw client.explained(
                KafkaError(code: .timedOut, message: "create topic \(name): no answer within \(timeout)"))
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw client.explained(
                KafkaError(
                    code: .init(rawValue: err.rawValue),
                    message: "create topic \(name): \(String(cString: rd_kafka_event_error_string(event)))"))
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let results = rd_kafka_CreateTopics_result_topics(result, &count)
        else { return }
        for index in 0..<count {
            let topicResult = results[index]
            let code = rd_kafka_topic_result_error(topicResult)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                let detail =
                    rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
                    ?? String(cString: rd_kafka_err2str(code))
                throw KafkaError(code: .init(rawValue: code.rawValue), message: "create topic \(name): \(detail)")
            }
        }
    }

    /// The partition ids of `topic`.
    public func partitions(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32] {
        try client.partitions(topic: topic, timeout: timeout)
    }

    /// Low and high watermark of one partition.
    public func watermarks(topic: String, partition: Int32, timeout: Duration = .seconds(10)) throws(KafkaError)
        -> KafkaWatermarks
    {
        try client.watermarks(topic: topic, partition: partition, timeout: timeout)
    }
}
