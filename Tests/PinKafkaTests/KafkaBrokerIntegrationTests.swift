import PinKafka
import Testing

/// Against the broker in KAFKA_BOOTSTRAP_SERVERS (default: the local stack's 127.0.0.1:19092).
@Suite struct KafkaBrokerIntegrationTests {
    @Test func adminCreatesMultiPartitionTopicAndProducerFillsIt() async throws {
        let admin = try KafkaAdmin(bootstrapServers: integrationBrokers)
        let topic = uniqueName("it-admin")
        try admin.createTopic(topic, partitions: 3)
        #expect(try admin.partitions(topic: topic) == [0, 1, 2])
        let again = #expect(throws: KafkaError.self) { try admin.createTopic(topic, partitions: 3) }
        #expect(again?.code == .topicAlreadyExists)

        let producer = try KafkaProducer(configuration: .init(bootstrapServers: integrationBrokers))
        for index in 0..<300 {
            try producer.produce(topic: topic, key: bytes("key-\(index)"), value: bytes("value-\(index)"))
        }
        let report = try await producer.send(topic: topic, partition: 1, key: nil, value: bytes("last"))
        try producer.flush(timeout: .seconds(30))
        #expect(producer.deliveryCounts.delivered == 300)
        #expect(report.partition == 1)
        let highs = try (0..<3).map { try admin.watermarks(topic: topic, partition: Int32($0)).high }
        #expect(highs.reduce(0, +) == 301)
        #expect(highs[1] == report.offset + 1)
    }

    @Test func groupConsumerCommitsAndResumesOnBroker() async throws {
        let topic = uniqueName("it-consume")
        let group = uniqueName("it-group")
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: integrationBrokers))
        for index in 0..<50 {
            try producer.produce(topic: topic, key: bytes("k\(index)"), value: bytes("v\(index)"))
        }
        try producer.flush(timeout: .seconds(30))
        #expect(producer.deliveryCounts.delivered == 50)

        var configuration = KafkaConsumerConfiguration(bootstrapServers: integrationBrokers, groupID: group)
        configuration.properties["receive.message.max.bytes"] = "2147483647"
        let partition = TopicPartition(topic: topic, partition: 0)
        let listener = RecordingListener(commitOnRevoke: [partition: 30])
        do {
            let consumer = try KafkaConsumer(configuration: configuration)
            try consumer.subscribe(topics: [topic], listener: listener)
            let messages = try consume(consumer, count: 50)
            #expect(messages.map { text($0.value) } == (0..<50).map { "v\($0)" })
            #expect(try consumer.watermarks(topic: topic, partition: 0).high == 50)
            try consumer.close()
        }
        #expect(listener.assigned == [[partition]])
        #expect(listener.revoked == [[partition]])

        let again = try KafkaConsumer(configuration: configuration)
        try again.subscribe(topics: [topic])
        let rest = try consume(again, count: 20)
        #expect(rest.first?.offset == 30)
        #expect(rest.count == 20)
        try again.close()
    }

    @Test func rejectedCredentialsFailFastWithoutLeakingThePassword() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: integrationBrokers)
        configuration.properties = [
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-256",
            "sasl.username": "nobody", "sasl.password": "hunter2-secret",
        ]
        configuration.logHandler = { _, _, _ in }
        let producer = try KafkaProducer(configuration: configuration)
        let clock = ContinuousClock()
        let started = clock.now
        let error = #expect(throws: KafkaError.self) { try producer.checkConnection(timeout: .seconds(20)) }
        #expect(clock.now - started < .seconds(10))
        #expect(error?.code == .authentication)
        #expect(error?.description.contains("hunter2") == false)
    }
}
