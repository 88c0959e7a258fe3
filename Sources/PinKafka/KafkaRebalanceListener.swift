/// Hooks into a consumer group rebalance, called on the thread that polls the consumer,
/// inside ``KafkaConsumer/poll(timeout:)`` (or ``KafkaConsumer/close()``), before offsets move.
public protocol KafkaRebalanceListener: Sendable {
    /// Partitions are about to be assigned. Return where to start per partition (e.g. the next
    /// offset stored in a database, or a ``KafkaOffset`` constant); partitions left out start at
    /// the group's committed offset, else `auto.offset.reset`.
    func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) -> [TopicPartition: Int64]

    /// Partitions are about to be taken away: flush and commit what is durable now; the revoke
    /// completes when this returns. If ``KafkaConsumer/assignmentLost`` is true, another member
    /// may already own them and commits will fail.
    func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer)
}

extension KafkaRebalanceListener {
    public func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) -> [TopicPartition: Int64] { [:] }
    public func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) {}
}
