import CRdKafka

/// librdkafka's in-process mock cluster, for tests: real protocol on loopback, no broker needed.
/// Lives until this object is released.
public final class KafkaMockCluster: @unchecked Sendable {
    private let client: RDKafkaClient
    private let cluster: OpaquePointer
    /// Pass this as `bootstrap.servers` to producers and consumers.
    public let bootstrapServers: String

    public init(brokers: Int = 1) throws(KafkaError) {
        // The mock cluster needs a handle for its logging and threads; it talks to nobody.
        client = try RDKafkaClient(type: RD_KAFKA_PRODUCER, properties: [], callbacks: RDKafkaCallbacks())
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError(code: .invalidArgument, message: "cannot start the mock cluster")
        }
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Takes broker `id` (1, 2, …) off the network: its connections close and new ones are refused.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try KafkaError.check(rd_kafka_mock_broker_set_down(cluster, id), "mock broker \(id) down")
    }

    /// Creates a topic (the mock otherwise auto-creates topics on first use).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor)),
            "mock topic \(name)"
        )
    }
}
