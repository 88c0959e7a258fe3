import PinKafka
import Synchronization
import Testing

@Suite struct LinePublisherTests {
    private func publish(
        _ publisher: LinePublisher, _ line: String, number: Int, as message: LinePublisher.Message? = nil
    ) throws -> String? {
        try Array(line.utf8).withUnsafeBufferPointer { buffer in
            try publisher.publish(buffer, number: number, as: message ?? .line(key: nil))
        }
    }

    @Test func linesGoUnchangedWithTheKeyGiven() throws {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("lines")
        try cluster.createTopic(topic, partitions: 1)
        let publisher = try LinePublisher(
            configuration: .init(bootstrapServers: cluster.bootstrapServers), topic: topic
        ) { _, _, _ in }
        publisher.beginInput("in.jsonl")
        let lines = [#"{"unique_id": "u-1", "index": 1}"#, #"{"index": 2}"#, "not json at all", #"{"unique_id": 3}"#]
        // The first keyed by a slice of itself ("u-1"), the others without a key.
        #expect(Array(Array(lines[0].utf8)[15..<18]) == bytes("u-1"))
        for (number, line) in lines.enumerated() {
            let message: LinePublisher.Message = number == 0 ? .lineKeyedBySlice(keyRange: 15..<18) : .line(key: nil)
            #expect(try publish(publisher, line, number: number + 1, as: message) == nil)
        }
        #expect(try publish(publisher, "{}", number: 9, as: .bytes(key: bytes("k"), value: bytes("re-encoded"))) == nil)
        // Borrowed bytes need only outlive the call: librdkafka copies them.
        var reused = bytes("k2borrowed")
        let reason = try reused.withUnsafeBytes { (buffer) throws -> String? in
            let message = LinePublisher.Message.borrowed(
                key: UnsafeRawBufferPointer(rebasing: buffer[0..<2]),
                value: UnsafeRawBufferPointer(rebasing: buffer[2...]))
            return try publish(publisher, "{}", number: 10, as: message)
        }
        #expect(reason == nil)
        for index in reused.indices { reused[index] = 0 }
        try publisher.producer.flush(timeout: .seconds(10))
        #expect(publisher.totals == .init(read: 6, rejected: 0, enqueued: 6, delivered: 6, failed: 0))

        let consumer = try KafkaConsumer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, groupID: uniqueName("g")))
        try consumer.subscribe(topics: [topic])
        let messages = try consume(consumer, count: 6)
        #expect(messages.map { text($0.value) } == lines + ["re-encoded", "borrowed"])
        #expect(messages.map { $0.key.map(text) } == ["u-1", nil, nil, nil, "k", "k2"])
        try consumer.close()
    }

    @Test func rejectedAndOversizeLinesAreCountedNotSent() throws {
        let cluster = try KafkaMockCluster()
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.properties["message.max.bytes"] = "1000"
        let publisher = try LinePublisher(configuration: configuration, topic: uniqueName("lines")) { _, _, _ in }
        publisher.beginInput("-")
        #expect(
            try publish(publisher, "{}", number: 1, as: .rejected(reason: "index: Field required"))
                == "index: Field required")
        let reason = try publish(publisher, String(repeating: "x", count: 5_000), number: 2)
        #expect(reason?.contains("exceeds message.max.bytes (1000)") == true)
        #expect(try publish(publisher, "ok", number: 3) == nil)
        try publisher.producer.flush(timeout: .seconds(10))
        #expect(publisher.totals == .init(read: 3, rejected: 2, enqueued: 1, delivered: 1, failed: 0))
    }

    @Test func failedDeliveriesNameTheirInputAndLine() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.messageTimeoutMilliseconds = 1_000
        let failures = Mutex<[String]>([])
        let publisher = try LinePublisher(configuration: configuration, topic: "nowhere") { location, error, value in
            failures.withLock { $0.append("\(location) \(error.code.name) \(String(decoding: value, as: UTF8.self))") }
        }
        publisher.beginInput("a.jsonl")
        _ = try publish(publisher, "one", number: 7)
        publisher.beginInput("b.jsonl")
        _ = try publish(publisher, "two", number: 3)
        try publisher.producer.flush(timeout: .seconds(10))
        #expect(publisher.totals.failed == 2)
        #expect(
            failures.withLock { $0.sorted() } == ["a.jsonl:7 _MSG_TIMED_OUT one", "b.jsonl:3 _MSG_TIMED_OUT two"])
    }
}
