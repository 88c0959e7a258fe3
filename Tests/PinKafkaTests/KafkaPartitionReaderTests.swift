import PinKafka
import Testing

/// ``KafkaPartitionReader`` against the broker in KAFKA_BOOTSTRAP_SERVERS, checked against what a
/// librdkafka consumer reads of the same partition.
@Suite struct KafkaPartitionReaderTests {
    /// Values of varied sizes (some empty, some large enough to fill a batch alone), with headers
    /// on some, so batches hold from one to hundreds of records.
    static func values(_ count: Int) -> [[UInt8]] {
        (0..<count).map { index in
            if index % 97 == 5 { return [] }
            let body = String(repeating: "pin-\(index)-", count: index % 50 == 0 ? 20_000 : 1 + index % 40)
            return bytes("{\"index\":\(index),\"body\":\"\(body)\"}")
        }
    }

    /// Produces `values` to partition 0 of a new topic with `codec`; returns the topic.
    static func topic(with values: [[UInt8]], codec: String) throws -> String {
        let topic = uniqueName("it-reader-\(codec)")
        var configuration = KafkaProducerConfiguration(bootstrapServers: integrationBrokers)
        configuration.compressionType = codec
        let producer = try KafkaProducer(configuration: configuration)
        for (index, value) in values.enumerated() {
            let headers = index % 3 == 0 ? [KafkaHeader(key: "h", value: bytes("x\(index)"))] : []
            try producer.produce(
                topic: topic, partition: 0, key: index % 2 == 0 ? bytes("k\(index)") : nil, value: value,
                headers: headers)
        }
        try producer.flush(timeout: .seconds(30))
        #expect(producer.deliveryCounts.delivered == values.count)
        return topic
    }

    static func reader(topic: String, from offset: Int64) throws -> KafkaPartitionReader {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: integrationBrokers, groupID: uniqueName("g"))
        configuration.properties["receive.message.max.bytes"] = "2147483647"
        let leaders = try KafkaConsumer(configuration: configuration).partitionLeaders(topic: topic)
        let leader = try #require(leaders[0])
        return try KafkaPartitionReader(leader: leader, topic: topic, partition: 0, offset: offset)
    }

    struct Record: Equatable {
        let offset: Int64
        let timestamp: Int64?
        let value: [UInt8]
    }

    /// Reads until `end` (or a minute passed).
    static func read(_ reader: KafkaPartitionReader, to end: Int64) throws -> [Record] {
        var records: [Record] = []
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        while reader.nextOffset < end, clock.now < deadline {
            try reader.read {
                records.append(Record(offset: $0.offset, timestamp: $0.timestamp, value: Array($0.value)))
            }
        }
        return records
    }

    /// The same partition through librdkafka.
    static func librdkafkaRecords(topic: String, from offset: Int64, count: Int) throws -> [Record] {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: integrationBrokers, groupID: uniqueName("g"))
        configuration.properties["receive.message.max.bytes"] = "2147483647"
        let consumer = try KafkaConsumer(configuration: configuration)
        _ = try consumer.partitions(topic: topic)
        try consumer.assign([TopicPartition(topic: topic, partition: 0): offset])
        return try consume(consumer, count: count).map {
            Record(offset: $0.offset, timestamp: $0.timestamp, value: $0.value)
        }
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func readsWhatLibrdkafkaReads(codec: String) throws {
        let values = Self.values(2_000)
        let topic = try Self.topic(with: values, codec: codec)
        let reader = try Self.reader(topic: topic, from: 0)
        let records = try Self.read(reader, to: Int64(values.count))
        #expect(records.map(\.value) == values)
        #expect(records.map(\.offset) == (0..<Int64(values.count)).map { $0 })
        #expect(reader.highWatermark == Int64(values.count))
        #expect(try Self.librdkafkaRecords(topic: topic, from: 0, count: values.count) == records)
    }

    @Test func startsInsideABatchAndReadsOnAfterTheBacklog() throws {
        let values = Self.values(1_500)
        let topic = try Self.topic(with: values, codec: "lz4")
        let reader = try Self.reader(topic: topic, from: 777)
        let records = try Self.read(reader, to: Int64(values.count))
        #expect(records.first?.offset == 777)
        #expect(records.map(\.value) == Array(values[777...]))

        // Written after the first responses: the next fetch brings them.
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: integrationBrokers))
        for index in 0..<10 {
            try producer.produce(topic: topic, partition: 0, key: nil, value: bytes("late-\(index)"))
        }
        try producer.flush(timeout: .seconds(30))
        let late = try Self.read(reader, to: Int64(values.count + 10))
        #expect(late.map { text($0.value) } == (0..<10).map { "late-\($0)" })
        #expect(late.first?.offset == Int64(values.count))
    }

    @Test func anOffsetPastTheEndIsTheBrokersError() throws {
        let topic = try Self.topic(with: Self.values(10), codec: "none")
        let reader = try Self.reader(topic: topic, from: 1_000_000)
        let error = #expect(throws: KafkaError.self) { try reader.read { _ in } }
        #expect(error?.code.name == "OFFSET_OUT_OF_RANGE")
        #expect(error?.message.contains("\(topic)[0]") == true)
    }

    @Test func anUnreachableLeaderIsATransportError() throws {
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaPartitionReader(
                leader: KafkaBrokerAddress(host: "127.0.0.1", port: 1), topic: "t", partition: 0, offset: 0)
        }
        #expect(error?.code == .transport)
        #expect(error?.message.contains("127.0.0.1:1") == true)
    }
}
