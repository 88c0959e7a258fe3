import PinKafka
import Synchronization
import Testing

@Suite struct KafkaProducerTests {
    @Test func sendReturnsDeliveryReportWithIncreasingOffsets() async throws {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("send")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
        let first = try await producer.send(topic: topic, key: bytes("k1"), value: bytes("v1"))
        let second = try await producer.send(
            topic: topic, key: nil, value: bytes("v2"), headers: [KafkaHeader(key: "h", value: bytes("x"))])
        #expect(first.topic == topic)
        #expect(first.partition == 0)
        #expect(first.offset == 0)
        #expect(second.offset == 1)
        let marks = try producer.watermarks(topic: topic, partition: 0)
        #expect(marks.high == 2)
    }

    /// The callback form (pin-api's): each completion is called exactly once, with its own report,
    /// and a message librdkafka refuses is completed at once on the caller's thread.
    @Test func sendWithCompletionReportsEachMessageOnce() throws {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("completion")
        try cluster.createTopic(topic, partitions: 2)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.properties["message.max.bytes"] = "2000"
        let producer = try KafkaProducer(configuration: configuration)
        let reports = Mutex<[Int: [DeliveryReport]]>([:])
        for index in 0..<200 {
            bytes("key-\(index)").withUnsafeBytes { key in
                bytes("value-\(index)").withUnsafeBytes { value in
                    producer.send(topic: topic, key: key, value: value) { result in
                        if case .success(let report) = result {
                            reports.withLock { $0[index, default: []].append(report) }
                        }
                    }
                }
            }
        }
        try producer.flush(timeout: .seconds(30))
        let seen = reports.withLock { $0 }
        #expect(seen.count == 200)
        #expect(seen.values.allSatisfy { $0.count == 1 })
        let positions = Set(seen.values.map { "\($0[0].partition)/\($0[0].offset)" })
        #expect(positions.count == 200)

        let refused = Mutex<KafkaError?>(nil)
        [UInt8](repeating: 65, count: 5_000).withUnsafeBytes { value in
            producer.send(topic: topic, key: nil, value: value) { result in
                if case .failure(let error) = result { refused.withLock { $0 = error } }
            }
        }
        #expect(refused.withLock { $0 }?.code == .messageSizeTooLarge)
    }

    @Test func bulkProduceCountsEveryDeliveryAndFlushes() throws {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("bulk")
        try cluster.createTopic(topic, partitions: 3)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        // A small queue forces the queue-full path: enqueueing must wait and retry, not fail.
        configuration.properties["queue.buffering.max.messages"] = "100"
        let producer = try KafkaProducer(configuration: configuration)
        for index in 0..<5_000 {
            try producer.produce(topic: topic, key: bytes("key-\(index)"), value: bytes("value-\(index)"))
        }
        try producer.flush(timeout: .seconds(30))
        let counts = producer.deliveryCounts
        #expect(counts.enqueued == 5_000)
        #expect(counts.delivered == 5_000)
        #expect(counts.failed == 0)
        #expect(counts.pending == 0)
        #expect(try producer.partitions(topic: topic) == [0, 1, 2])
        let total = try (0..<3).map { try producer.watermarks(topic: topic, partition: Int32($0)).high }.reduce(0, +)
        #expect(total == 5_000)
    }

    @Test func pendingBytesBoundWaitsForRoomAndDeliversEverything() throws {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("bounded")
        try cluster.createTopic(topic, partitions: 3)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        // 16 KB of 1 KB values: the bound, not the message count, fills the queue.
        configuration.maxPendingKilobytes = 16
        let producer = try KafkaProducer(configuration: configuration)
        let value = [UInt8](repeating: 66, count: 1_000)
        for index in 0..<2_000 {
            try producer.produce(topic: topic, key: bytes("key-\(index)"), value: value)
        }
        try producer.flush(timeout: .seconds(30))
        let counts = producer.deliveryCounts
        #expect(counts.enqueued == 2_000 && counts.delivered == 2_000 && counts.failed == 0)
        let total = try (0..<3).map { try producer.watermarks(topic: topic, partition: Int32($0)).high }.reduce(0, +)
        #expect(total == 2_000)
    }

    @Test func waitForRoomEndsWhenInterrupted() throws {
        let cluster = try KafkaMockCluster()
        let topic = uniqueName("stalled")
        try cluster.createTopic(topic, partitions: 1)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.maxPendingKilobytes = 4
        configuration.messageTimeoutMilliseconds = 120_000
        // Interrupted from half a second on: checked by the waiting thread itself, so the test
        // needs no other thread (a task could wait long for a cooperative thread to run on).
        let interruptAt = Mutex<ContinuousClock.Instant?>(nil)
        let producer = try KafkaProducer(
            configuration: configuration,
            isInterrupted: { interruptAt.withLock { $0.map { ContinuousClock.now >= $0 } ?? false } })
        try producer.checkConnection()
        // With the broker gone nothing is acknowledged: the fifth 1 KB message waits for room.
        try cluster.setBrokerDown(1)
        let started = ContinuousClock.now
        interruptAt.withLock { $0 = started + .milliseconds(500) }
        let error = #expect(throws: KafkaError.self) {
            for index in 0..<100 {
                try producer.produce(
                    topic: topic, key: bytes("key-\(index)"), value: [UInt8](repeating: 68, count: 1_000))
            }
        }
        #expect(error?.code == .queueFull)
        #expect(ContinuousClock.now - started < .seconds(30), "waited for the message timeout instead")
        #expect(ContinuousClock.now - started >= .milliseconds(500), "gave up before it was interrupted")
        #expect((1...4).contains(producer.deliveryCounts.enqueued))
        producer.abandonPending()
    }

    @Test func messageLargerThanThePendingBoundIsRefusedNotWaitedFor() throws {
        let cluster = try KafkaMockCluster()
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.maxPendingKilobytes = 4
        let producer = try KafkaProducer(configuration: configuration)
        let error = #expect(throws: KafkaError.self) {
            try producer.produce(topic: uniqueName("huge"), key: nil, value: [UInt8](repeating: 67, count: 8_000))
        }
        #expect(error?.code == .messageSizeTooLarge)
        #expect(error?.message.contains("queue.buffering.max.kbytes") == true)
    }

    @Test func oversizeMessageIsRefusedWithClearError() async throws {
        let cluster = try KafkaMockCluster()
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.properties["message.max.bytes"] = "2000"
        let producer = try KafkaProducer(configuration: configuration)
        let big = [UInt8](repeating: 65, count: 5_000)
        let error = #expect(throws: KafkaError.self) {
            try producer.produce(topic: uniqueName("big"), key: nil, value: big)
        }
        #expect(error?.code == .messageSizeTooLarge)
        #expect(error?.message.contains("message.max.bytes (2000)") == true)
        await #expect(throws: KafkaError.self) {
            _ = try await producer.send(topic: uniqueName("big"), key: nil, value: big)
        }
        #expect(producer.deliveryCounts.enqueued == 0)
    }

    @Test func unreachableBrokerFailsDeliveryWithBrokerError() async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.messageTimeoutMilliseconds = 1_500
        let logged = Mutex<[String]>([])
        configuration.logHandler = { level, facility, _ in
            if level == .error { logged.withLock { $0.append(facility) } }
        }
        let failures = FailureLog()
        let producer = try KafkaProducer(configuration: configuration) { tag, error, _ in failures.append(tag, error) }
        let error = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(topic: "nowhere", key: nil, value: bytes("x"))
        }
        #expect(error?.code == .messageTimedOut)
        #expect(error?.message.contains("last broker error") == true)
        try producer.produce(topic: "nowhere", key: nil, value: bytes("y"), tag: 42)
        try producer.flush(timeout: .seconds(10))
        #expect(producer.deliveryCounts.failed == 1)
        #expect(failures.tags == [42])
        #expect(throws: KafkaError.self) { try producer.partitions(topic: "nowhere", timeout: .milliseconds(500)) }
        let refused = #expect(throws: KafkaError.self) { try producer.checkConnection(timeout: .seconds(1)) }
        #expect(refused?.message.contains("Connection refused") == true)
        // librdkafka's own log lines reach the handler instead of stderr.
        #expect(logged.withLock { $0.contains("FAIL") })
    }

    @Test func invalidPropertyIsAConfigurationError() {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.properties["no.such.property"] = "1"
        let error = #expect(throws: KafkaError.self) { try KafkaProducer(configuration: configuration) }
        #expect(error?.message.contains("no.such.property") == true)
    }
}

final class FailureLog: Sendable {
    private let entries = Mutex<[(UInt, KafkaError)]>([])
    func append(_ tag: UInt, _ error: KafkaError) { entries.withLock { $0.append((tag, error)) } }
    var tags: [UInt] { entries.withLock { $0.map(\.0) } }
}
