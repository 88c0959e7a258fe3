import CRdKafka

/// One partition of one topic.
public struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Special offsets librdkafka understands wherever an offset to start from is expected.
public enum KafkaOffset {
    /// The first offset still stored in the partition.
    public static let beginning: Int64 = -2
    /// The next offset to be written (only new messages).
    public static let end: Int64 = -1
    /// The group's committed offset, else `auto.offset.reset`.
    public static let committed: Int64 = -1000
}

extension TopicPartition {
    /// Builds an `rd_kafka_topic_partition_list_t`; the caller destroys it.
    static func makeList(_ offsets: some Collection<(TopicPartition, Int64)>) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for (partition, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
        }
        return list
    }

    /// The entries of a list with their offsets and per-partition errors.
    static func entries(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return (TopicPartition(topic: String(cString: element.topic), partition: element.partition), element.offset, element.err)
        }
    }
}
