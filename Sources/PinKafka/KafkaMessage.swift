import CRdKafka

/// A consumed Kafka record.
public struct KafkaMessage: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    /// Milliseconds since the epoch (create or log-append time), nil if the broker sent none.
    public var timestamp: Int64?
    public var headers: [KafkaHeader]

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8],
        timestamp: Int64?,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }

    /// The next offset to commit once this message is processed.
    public var nextOffset: Int64 { offset + 1 }

    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }
}

extension KafkaMessage {
    /// Copies a librdkafka message (that has no error).
    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        self.init(message, topic: String(cString: rd_kafka_topic_name(message.pointee.rkt)))
    }

    /// Copies a librdkafka message (that has no error) whose topic name the caller already has.
    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        let raw = message.pointee
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        let value = raw.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
        let key = raw.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        key: name.map { String(cString: $0) } ?? "",
                        value: bytes.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) }
                    )
                )
                index += 1
            }
        }
        self.init(
            topic: topic,
            partition: raw.partition,
            offset: raw.offset,
            key: key,
            value: value,
            timestamp: type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
            headers: headers
        )
    }
}

/// A consumed message read in place from librdkafka's buffer, for callers that copy only what
/// they keep (an archiver appends the value to its buffer; a copy first would move every byte
/// twice). Valid only during the call it is passed to.
public struct KafkaMessageView {
    private let message: UnsafeMutablePointer<rd_kafka_message_t>
    public let topic: String

    init(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        self.message = message
        self.topic = topic
    }

    public var partition: Int32 { message.pointee.partition }
    public var offset: Int64 { message.pointee.offset }

    /// The value's bytes (empty for a null value).
    public var value: UnsafeBufferPointer<UInt8> {
        let start = message.pointee.payload?.assumingMemoryBound(to: UInt8.self)
        return UnsafeBufferPointer(start: start, count: message.pointee.len)
    }

    /// Milliseconds since the epoch (create or log-append time), nil if the broker sent none.
    public var timestamp: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
    }

    /// The whole message (key and headers included) as a value that outlives the call.
    public func copy() -> KafkaMessage { KafkaMessage(message, topic: topic) }
}
