/// Where the broker stored a produced message.
public struct DeliveryReport: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The message timestamp in milliseconds since the epoch, when known.
    public var timestamp: Int64?
}

/// Running totals for messages sent through ``KafkaProducer/produce(topic:partition:key:value:headers:tag:)``.
public struct DeliveryCounts: Sendable, Equatable {
    /// Messages handed to librdkafka.
    public var enqueued: Int
    /// Messages the broker acknowledged.
    public var delivered: Int
    /// Messages whose delivery failed after librdkafka's retries.
    public var failed: Int
    /// Enqueued messages without a delivery report yet.
    public var pending: Int { enqueued - delivered - failed }
}
