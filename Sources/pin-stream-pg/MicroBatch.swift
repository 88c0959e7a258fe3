import PinCore
import PinKafka
import PinPostgres

/// The records consumed since the last commit, cleaned or rejected, with the offsets they cover.
struct MicroBatch {
    let topic: String
    /// Cleaned rows, encoded for COPY as they are taken.
    private(set) var rows = PinRowBatch()
    private(set) var rejects: [PinReject] = []
    /// Per partition: the offset after the last record taken.
    private(set) var nextOffsets: [Int32: Int64] = [:]
    /// When the first record was taken; the batch is committed `--max-wait` later at the latest.
    private(set) var startedAt: ContinuousClock.Instant?

    init(topic: String) { self.topic = topic }

    var count: Int { rows.added + rejects.count }
    var isEmpty: Bool { count == 0 }

    /// Cleans one message into a row, or keeps it as a dead letter with the reason.
    mutating func add(_ message: KafkaMessage, cleaner: inout PinCleaner) {
        if startedAt == nil { startedAt = .now }
        nextOffsets[message.partition] = message.nextOffset
        do {
            let raw = try RawPin(parsing: message.value)
            rows.append(PinRow(cleaner.clean(raw), from: message))
        } catch {
            let reason = message.value.isEmpty ? "empty message value" : error.description
            rejects.append(
                PinReject(partition: message.partition, offset: message.offset, rawValue: message.value, reason: reason)
            )
        }
    }

    /// Forgets what was taken from `partitions`: their new owner reads it again from the stored offsets.
    mutating func drop(partitions: Set<Int32>) {
        rows.removeAll(partitions: partitions)
        rejects.removeAll { partitions.contains($0.partition) }
        for partition in partitions { nextOffsets[partition] = nil }
        if isEmpty { startedAt = nil }
    }

    /// What `PinSink.commit` stores; `expected` are the stored next offsets the batch started from.
    func sinkBatch(expected: [Int32: Int64]) -> PinSink.Batch {
        PinSink.Batch(
            topic: topic, rows: rows, rejects: rejects, nextOffsets: nextOffsets,
            expectedOffsets: expected.filter { nextOffsets[$0.key] != nil })
    }
}
