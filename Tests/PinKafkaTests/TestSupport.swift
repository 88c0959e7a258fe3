import PinKafka
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A fresh name per test, so parallel tests and re-runs never share topics or groups.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
}

/// The broker for integration tests, as the tools find it.
var integrationBrokers: String {
    if let value = getenv("KAFKA_BOOTSTRAP_SERVERS"), value.pointee != 0 { return String(cString: value) }
    return "127.0.0.1:19092"
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Polls until `count` messages arrived or `deadline` passed.
func consume(_ consumer: KafkaConsumer, count: Int, within deadline: Duration = .seconds(30)) throws -> [KafkaMessage] {
    var messages: [KafkaMessage] = []
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while messages.count < count, clock.now < end {
        if let message = try consumer.poll(timeout: .milliseconds(100)) { messages.append(message) }
    }
    return messages
}

/// Records what the group did to this member, and starts partitions where told.
final class RecordingListener: KafkaRebalanceListener {
    private let calls = Mutex<(assigned: [[TopicPartition]], revoked: [[TopicPartition]])>(([], []))
    let startOffsets: [TopicPartition: Int64]
    let commitOnRevoke: [TopicPartition: Int64]

    init(startOffsets: [TopicPartition: Int64] = [:], commitOnRevoke: [TopicPartition: Int64] = [:]) {
        self.startOffsets = startOffsets
        self.commitOnRevoke = commitOnRevoke
    }

    var assigned: [[TopicPartition]] { calls.withLock { $0.assigned } }
    var revoked: [[TopicPartition]] { calls.withLock { $0.revoked } }

    func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) -> [TopicPartition: Int64] {
        calls.withLock { $0.assigned.append(partitions) }
        return startOffsets
    }

    func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) {
        calls.withLock { $0.revoked.append(partitions) }
        // Commit inside the hook: the revoke waits for it.
        try? consumer.commit(commitOnRevoke)
    }
}
