import PinKafka
import Testing

@Suite struct KafkaConsumerTests {
    /// A mock cluster with one topic holding `count` messages value-0…value-(count-1) in partition 0.
    private func clusterWithMessages(_ count: Int, partitions: Int = 1) async throws -> (KafkaMockCluster, String) {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("consume")
        try cluster.createTopic(topic, partitions: partitions)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
        for index in 0..<count {
            try producer.produce(
                topic: topic, partition: Int32(index % partitions), key: bytes("k\(index)"),
                value: bytes("value-\(index)"),
                headers: [KafkaHeader(key: "n", value: bytes(String(index)))]
            )
        }
        try producer.flush(timeout: .seconds(10))
        #expect(producer.deliveryCounts.delivered == count)
        return (cluster, topic)
    }

    private func configuration(_ cluster: KafkaMockCluster, group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
        configuration.sessionTimeoutMilliseconds = 6_000
        return configuration
    }

    @Test func consumesMessagesWithKeysHeadersAndTimestamps() async throws {
        let (cluster, topic) = try await clusterWithMessages(10)
        let consumer = try KafkaConsumer(configuration: configuration(cluster, group: uniqueName("g")))
        try consumer.subscribe(topics: [topic])
        let messages = try consume(consumer, count: 10)
        #expect(messages.map(\.offset) == Array(0..<10))
        #expect(messages.map { text($0.value) } == (0..<10).map { "value-\($0)" })
        #expect(messages.first?.key == bytes("k0"))
        #expect(messages.first?.headers == [KafkaHeader(key: "n", value: bytes("0"))])
        #expect(messages.first?.timestamp != nil)
        #expect(messages.first?.topicPartition == TopicPartition(topic: topic, partition: 0))
        try consumer.close()
    }

    /// pin-api compresses with LZ4 by default; every codec librdkafka offers comes back whole.
    @Test(arguments: ["lz4", "zstd", "gzip", "snappy"])
    func compressedBatchesAreReadBackWhole(codec: String) async throws {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("compressed")
        try cluster.createTopic(topic, partitions: 1)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        producerConfiguration.compressionType = codec
        let producer = try KafkaProducer(configuration: producerConfiguration)
        let values = (0..<500).map { bytes(#"{"index":\#($0),"title":"the same words, again and again"}"#) }
        for value in values { try producer.produce(topic: topic, partition: 0, key: nil, value: value) }
        try producer.flush(timeout: .seconds(10))
        #expect(producer.deliveryCounts.delivered == values.count)
        let consumer = try KafkaConsumer(configuration: configuration(cluster, group: uniqueName("g")))
        try consumer.subscribe(topics: [topic])
        #expect(try consume(consumer, count: values.count).map(\.value) == values)
        try consumer.close()
    }

    @Test func committedOffsetIsWhereTheGroupResumes() async throws {
        let (cluster, topic) = try await clusterWithMessages(10)
        let group = uniqueName("g")
        let partition = TopicPartition(topic: topic, partition: 0)
        do {
            let consumer = try KafkaConsumer(configuration: configuration(cluster, group: group))
            try consumer.subscribe(topics: [topic])
            let messages = try consume(consumer, count: 10)
            #expect(messages.count == 10)
            // Processed only the first four: commit the next offset to read.
            try consumer.commit([partition: messages[3].nextOffset])
            #expect(try consumer.committed([partition]) == [partition: 4])
            try consumer.close()
        }
        let again = try KafkaConsumer(configuration: configuration(cluster, group: group))
        try again.subscribe(topics: [topic])
        let rest = try consume(again, count: 6)
        #expect(rest.map(\.offset) == Array(4..<10))
        try again.close()
    }

    @Test func assignHookChoosesStartOffsetsAndRevokeHookCommitsBeforeLeaving() async throws {
        let (cluster, topic) = try await clusterWithMessages(10)
        let group = uniqueName("g")
        let partition = TopicPartition(topic: topic, partition: 0)
        let listener = RecordingListener(startOffsets: [partition: 7], commitOnRevoke: [partition: 9])
        let consumer = try KafkaConsumer(configuration: configuration(cluster, group: group))
        try consumer.subscribe(topics: [topic], listener: listener)
        let messages = try consume(consumer, count: 3)
        #expect(messages.map(\.offset) == [7, 8, 9])
        #expect(listener.assigned == [[partition]])
        #expect(try consumer.assignment() == [partition])
        try consumer.close()
        #expect(listener.revoked == [[partition]])

        let next = try KafkaConsumer(configuration: configuration(cluster, group: group))
        #expect(try next.committed([partition]) == [partition: 9])
        try next.subscribe(topics: [topic])
        #expect(try consume(next, count: 1).map(\.offset) == [9])
        try next.close()
    }

    @Test func cooperativeRebalancingAssignsIncrementally() async throws {
        let (cluster, topic) = try await clusterWithMessages(6, partitions: 2)
        var settings = configuration(cluster, group: uniqueName("g"))
        settings.assignmentStrategy = "cooperative-sticky"
        let listener = RecordingListener()
        let consumer = try KafkaConsumer(configuration: settings)
        try consumer.subscribe(topics: [topic], listener: listener)
        let messages = try consume(consumer, count: 6)
        #expect(messages.count == 6)
        #expect(Set(listener.assigned.flatMap { $0 }.map(\.partition)) == [0, 1])
        try consumer.close()
        #expect(Set(listener.revoked.flatMap { $0 }.map(\.partition)) == [0, 1])
    }

    /// A manual assignment reads from the offsets given, joins no group and commits nothing;
    /// its partitions can be dropped one by one.
    @Test func manualAssignmentReadsFromTheGivenOffsetsWithoutJoining() async throws {
        let (cluster, topic) = try await clusterWithMessages(10, partitions: 2)
        let group = uniqueName("g")
        let first = TopicPartition(topic: topic, partition: 0)
        let second = TopicPartition(topic: topic, partition: 1)
        let reader = try KafkaConsumer(configuration: configuration(cluster, group: group))
        try reader.assign([first: 3, second: 4])
        let messages = try consume(reader, count: 3)
        #expect(Set(messages.map { "\($0.partition)@\($0.offset)" }) == ["0@3", "0@4", "1@4"])
        #expect(try reader.assignment().sorted { $0.partition < $1.partition } == [first, second])
        #expect(try reader.committed([first, second]).isEmpty)
        // Dropping one partition leaves the other assigned.
        try reader.unassign([second])
        #expect(try reader.assignment() == [first])
        try reader.close()
    }

    /// A consumer at the end of its partitions pauses fetching between polls that find nothing,
    /// and a message produced meanwhile still arrives, in order, once the pause is over.
    @Test func idleFetchPauseStopsFetchingAtTheEndAndResumes() async throws {
        let (cluster, topic) = try await clusterWithMessages(5)
        let partition = TopicPartition(topic: topic, partition: 0)
        let reader = try KafkaConsumer(configuration: configuration(cluster, group: uniqueName("g")))
        try reader.assign([partition: 0])
        var idle = IdleFetchPause(interval: .milliseconds(300))
        var offsets: [Int64] = []
        var paused = false
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
        let clock = ContinuousClock()
        let end = clock.now + .seconds(20)
        while offsets.count < 6, clock.now < end {
            let message = try reader.poll(timeout: .milliseconds(50))
            if let message { offsets.append(message.offset) }
            idle.afterPoll(reader, polledNothing: message == nil, assigned: [partition]) { _ in
                offsets.last.map { $0 + 1 }
            }
            if idle.isPausing && !paused {
                // At the end and paused: a new message must wait for the resume, then arrive.
                paused = true
                try producer.produce(topic: topic, partition: 0, key: nil, value: bytes("late"))
                try producer.flush(timeout: .seconds(10))
            }
        }
        #expect(paused)
        #expect(offsets == Array(0..<6))
        try reader.close()
    }

    @Test func seekRewindsAnAssignedPartition() async throws {
        let (cluster, topic) = try await clusterWithMessages(5)
        let consumer = try KafkaConsumer(configuration: configuration(cluster, group: uniqueName("g")))
        try consumer.subscribe(topics: [topic])
        #expect(try consume(consumer, count: 5).count == 5)
        try consumer.seek(TopicPartition(topic: topic, partition: 0), to: 2)
        #expect(try consume(consumer, count: 3).map(\.offset) == [2, 3, 4])
        #expect(try consumer.watermarks(topic: topic, partition: 0) == KafkaWatermarks(low: 0, high: 5))
        try consumer.close()
    }

    /// Batches: every message once, in order per partition; the call in which the assignment
    /// arrives reports it, and messages it held (none here, nothing was fetched yet) are named.
    @Test func batchPollsPassEveryMessageOnceInOrder() async throws {
        let (cluster, topic) = try await clusterWithMessages(500, partitions: 2)
        let listener = RecordingListener()
        let consumer = try KafkaConsumer(configuration: configuration(cluster, group: uniqueName("g")))
        try consumer.subscribe(topics: [topic], listener: listener)
        var offsets: [Int32: [Int64]] = [:]
        var values: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while values.count < 500, ContinuousClock.now < deadline {
            let result = try consumer.poll(upTo: 64, timeout: .milliseconds(100)) { message in
                offsets[message.partition, default: []].append(message.offset)
                values.append(text(message.value))
            }
            #expect(result.messages <= 64)
            #expect(result.errors.isEmpty, "\(result.errors)")
            for partition in result.dropped {
                // Only a batch in which a rebalance hook ran is dropped: fetch it again.
                try consumer.seek(partition, to: Int64(offsets[partition.partition]?.count ?? 0))
            }
        }
        #expect(offsets[0] == Array(0..<250))
        #expect(offsets[1] == Array(0..<250))
        #expect(Set(values) == Set((0..<500).map { "value-\($0)" }))
        #expect(listener.assigned.count == 1)
        try consumer.close()
    }

    @Test func messagesSequenceYieldsInOrder() async throws {
        let (cluster, topic) = try await clusterWithMessages(20)
        let consumer = try KafkaConsumer(configuration: configuration(cluster, group: uniqueName("g")))
        try consumer.subscribe(topics: [topic])
        var offsets: [Int64] = []
        for try await message in consumer.messages() {
            offsets.append(message.offset)
            if offsets.count == 20 { break }
        }
        #expect(offsets == Array(0..<20))
        try consumer.close()
    }
}
