/// Settings for a ``KafkaConsumer``. Offsets are always committed explicitly by the caller
/// (`enable.auto.commit=false`, `enable.auto.offset.store=false`); ``properties`` is applied last.
public struct KafkaConsumerConfiguration: Sendable {
    /// `bootstrap.servers`: `host:port[,host:port…]`.
    public var bootstrapServers: String
    /// `group.id`.
    public var groupID: String
    /// `auto.offset.reset` for partitions without a committed offset: `earliest` (default) or `latest`.
    public var autoOffsetReset: String = "earliest"
    /// `partition.assignment.strategy`; nil keeps librdkafka's eager `range,roundrobin`.
    /// `cooperative-sticky` selects incremental rebalancing, which the consumer also handles.
    public var assignmentStrategy: String?
    /// `session.timeout.ms`; nil keeps librdkafka's default (45 s).
    public var sessionTimeoutMilliseconds: Int?
    /// `client.id`, shown in broker logs.
    public var clientID: String = "pinpipe"
    /// Any librdkafka property (`-X key=value`), e.g. `receive.message.max.bytes`, `security.protocol`.
    public var properties: [String: String] = [:]
    /// Where librdkafka's own log lines go; nil lets librdkafka print them to stderr.
    public var logHandler: KafkaLogHandler?

    public init(bootstrapServers: String, groupID: String) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }

    /// True unless `security.protocol` asks for TLS or SASL, which ``KafkaPartitionReader`` does not speak.
    public var isPlaintext: Bool { (properties["security.protocol"] ?? "plaintext").lowercased() == "plaintext" }

    var librdkafkaProperties: [(String, String)] {
        var pairs = [
            ("bootstrap.servers", bootstrapServers),
            ("group.id", groupID),
            ("auto.offset.reset", autoOffsetReset),
            ("client.id", clientID),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ]
        if let assignmentStrategy { pairs.append(("partition.assignment.strategy", assignmentStrategy)) }
        if let sessionTimeoutMilliseconds { pairs.append(("session.timeout.ms", String(sessionTimeoutMilliseconds))) }
        return pairs + properties.sorted { $0.key < $1.key }
    }
}
