/// Settings for a ``KafkaProducer``. Typed properties carry this project's defaults; anything
/// else librdkafka understands goes in ``properties``, which is applied last and wins.
public struct KafkaProducerConfiguration: Sendable {
    /// `bootstrap.servers`: `host:port[,host:port…]`.
    public var bootstrapServers: String
    /// `acks`: `all` (default) waits for every in-sync replica.
    public var acks: String = "all"
    /// `enable.idempotence`: on by default, so retries never duplicate or reorder messages.
    public var enableIdempotence: Bool = true
    /// `linger.ms`: how long to wait to fill a batch. Default 5 ms (librdkafka's and kcat's).
    public var lingerMilliseconds: Int = 5
    /// `compression.type`: how batches are compressed (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
    /// Default `none` (librdkafka's and kcat's).
    public var compressionType: String = "none"
    /// `queue.buffering.max.kbytes`: how many kilobytes of messages may await their delivery
    /// reports (queued or in flight) before ``KafkaProducer/produce(topic:partition:key:value:headers:tag:)``
    /// waits for room. Default 1 048 576 (librdkafka's).
    public var maxPendingKilobytes: Int = 1_048_576
    /// `message.timeout.ms`: how long librdkafka retries a message before reporting its
    /// delivery as failed. Default 300 000 (librdkafka's).
    public var messageTimeoutMilliseconds: Int = 300_000
    /// `client.id`, shown in broker logs.
    public var clientID: String = "pinpipe"
    /// Any librdkafka property (`-X key=value`), e.g. `compression.type`, `security.protocol`, `sasl.*`.
    public var properties: [String: String] = [:]
    /// Where librdkafka's own log lines go; nil lets librdkafka print them to stderr.
    public var logHandler: KafkaLogHandler?

    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    var librdkafkaProperties: [(String, String)] {
        [
            ("bootstrap.servers", bootstrapServers),
            ("acks", acks),
            ("enable.idempotence", enableIdempotence ? "true" : "false"),
            ("linger.ms", String(lingerMilliseconds)),
            ("compression.type", compressionType),
            ("queue.buffering.max.kbytes", String(maxPendingKilobytes)),
            ("message.timeout.ms", String(messageTimeoutMilliseconds)),
            ("client.id", clientID),
        ] + properties.sorted { $0.key < $1.key }
    }
}
