import Foundation
import PinCompression
import PinCore
import PinKafka
import PinObjectStore

/// Consumes one topic in a group and archives every partition as NDJSON objects, exactly once:
/// each object is a contiguous run of one partition's offsets, it is stored before the offset
/// after it is committed, and a newly assigned partition resumes after its newest stored object
/// (``ArchiveRecovery``). Runs on one thread (the one that calls ``run(shouldStop:)``), which must
/// not be a thread of Swift's cooperative pool.
public final class ArchiveConsumer: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private let store: any ObjectStore
    private let prefix: String
    private let topic: String
    private let once: Bool
    private let compression: StreamFormat
    private let logger: StderrLogger
    private let clock = ContinuousClock()
    /// Stores sealed runs and commits after them while consuming goes on.
    private let writer: ArchiveWriter
    /// The date of the last message's day, so that a date string is made once per day, not per message.
    private var lastDay: (day: Int64, date: String)?

    private var buffers: ArchiveBuffers
    /// The next offset to archive per assigned partition.
    private var nextOffsets: [Int32: Int64] = [:]
    /// `--once`: the high watermark seen when the partition was assigned.
    private var targets: [Int32: Int64] = [:]
    private var hookFailure: (any Error)?
    public private(set) var statistics = ArchiveStatistics()

    public init(
        consumer: KafkaConsumer, store: any ObjectStore, prefix: String, topic: String, policy: FlushPolicy, once: Bool,
        compression: StreamFormat = .none, logger: StderrLogger
    ) {
        self.consumer = consumer
        self.store = store
        self.prefix = prefix
        self.topic = topic
        self.once = once
        self.compression = compression
        self.logger = logger
        buffers = ArchiveBuffers(topic: topic, policy: policy)
        // A --once run commits when it is drained (revoke, end) only: nothing needs the offsets
        // sooner, and each commit makes some brokers rewrite state (noida-db: its whole snapshot).
        writer = ArchiveWriter(
            store: store, prefix: prefix, topic: topic, compression: compression, consumer: consumer, logger: logger,
            commitsEachObject: !once)
    }

    /// Messages taken from librdkafka per call.
    static let batchSize = 1000

    /// Consumes until `shouldStop` returns true (checked between polls) or, with `once`, until
    /// the assigned partitions reached their end offsets seen at assignment; then flushes,
    /// commits and leaves the group.
    public func run(shouldStop: () -> Bool) throws -> ArchiveStatistics {
        writer.start()
        defer { writer.stop() }
        try consumer.subscribe(topics: [topic], listener: Listener(archive: self))
        let started = clock.now
        var lastAgeCheck = clock.now
        while !shouldStop() {
            let batch = try pollBatch()
            try throwHookFailure()
            if !batch.dropped.isEmpty { try seekToExpectedOffsets(batch.dropped) }
            if let failure = writer.failure { throw failure }
            recycleStoredArrays()
            if clock.now - lastAgeCheck >= .milliseconds(500) {
                lastAgeCheck = clock.now
                try flushAged()
            }
            if once {
                if !nextOffsets.isEmpty && reachedTargets {
                    logger.info(
                        "reached the end offsets of \(nextOffsets.keys.sorted().map { "\(topic)[\($0)]" }.joined(separator: ", "))"
                    )
                    break
                }
                if nextOffsets.isEmpty && clock.now - started > .seconds(60) {
                    logger.warning("no partition of \(topic) was assigned within 60 s; nothing to do")
                    break
                }
            }
        }
        try flushAll()
        try writer.drain()
        statistics.lag = currentLag()
        try consumer.close()
        try throwHookFailure()
        try writer.drain()
        (statistics.objects, statistics.bytes, statistics.invalidValues) = writer.totals
        return statistics
    }

    /// One batch of messages, each archived; transient consumer errors are logged (librdkafka
    /// recovers from them).
    private func pollBatch() throws -> KafkaBatchResult {
        do {
            let result = try consumer.pollInPlace(upTo: batchLimit, timeout: .milliseconds(200)) { try archive($0) }
            for error in result.errors {
                if error.isFatal { throw error }
                logger.warning("kafka: \(error)")
            }
            return result
        } catch let error as KafkaError where !error.isFatal && writer.failure == nil {
            logger.warning("kafka: \(error)")
            return KafkaBatchResult()
        }
    }

    /// A rebalance dropped a batch unread: fetch the partitions it held messages of again from
    /// the offset expected next (if still assigned), so nothing is skipped.
    private func seekToExpectedOffsets(_ partitions: [TopicPartition]) throws {
        for member in partitions where member.topic == topic {
            guard let next = nextOffsets[member.partition] else { continue }
            logger.debug("\(member): fetching again from \(next) after a rebalance")
            try consumer.seek(member, to: next)
        }
    }

    private func throwHookFailure() throws {
        if let failure = hookFailure { throw failure }
    }

    /// With `--once`, no more than the messages still wanted: librdkafka's batch call returns as
    /// soon as it holds that many, where a full-size batch would wait out the timeout at the end.
    private var batchLimit: Int {
        guard once, !nextOffsets.isEmpty else { return Self.batchSize }
        var remaining: Int64 = 0
        for (partition, next) in nextOffsets {
            guard let target = targets[partition] else { return Self.batchSize }
            remaining += max(0, target - next)
        }
        return Int(min(Int64(Self.batchSize), max(1, remaining)))
    }

    private var reachedTargets: Bool {
        nextOffsets.allSatisfy { partition, next in
            guard let target = targets[partition] else { return false }
            return next >= target
        }
    }

    private func currentLag() -> Int64? {
        var lag: Int64 = 0
        for (partition, next) in nextOffsets {
            guard let marks = try? consumer.watermarks(topic: topic, partition: partition) else { return nil }
            lag += max(0, marks.high - next)
        }
        return lag
    }

    // MARK: Buffering

    private func archive(_ message: KafkaMessageView) throws {
        let partition = message.partition
        guard message.topic == topic, let expected = nextOffsets[partition], message.offset >= expected else {
            return  // not ours any more, or already archived
        }
        let date = utcDate(milliseconds: message.timestamp ?? Self.nowMilliseconds())
        let (runs, hadNewline) = buffers.add(
            partition: partition, offset: message.offset, value: message.value, date: date, now: clock.now)
        if hadNewline { statistics.valuesWithNewlines += 1 }
        nextOffsets[partition] = message.offset + 1
        statistics.records += 1
        try store(runs)
    }

    private func utcDate(milliseconds: Int64) -> String {
        let day = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds + 1) / 86_400_000 - 1
        if let lastDay, lastDay.day == day { return lastDay.date }
        let date = ArchiveObjectName.date(milliseconds: milliseconds)
        lastDay = (day, date)
        return date
    }

    private func flushAged() throws {
        try store(buffers.sealAged(now: clock.now))
    }

    private func flushAll() throws {
        try store(buffers.sealAll())
    }

    private func flush(_ partition: Int32) throws {
        try store(buffers.seal(partition).map { [$0] } ?? [])
    }

    /// Hands the runs to the writer, which stores each as one object, then commits the offset after it.
    private func store(_ runs: [SealedRun]) throws {
        guard !runs.isEmpty else { return }
        try writer.submit(runs)
        // The writer took the run once it was done with the one before: reuse that one's array.
        recycleStoredArrays()
    }

    private func recycleStoredArrays() {
        var arrays = writer.takeRecycled()
        for index in arrays.indices { buffers.recycle(&arrays[index]) }
    }

    private static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Rebalancing

    fileprivate func assigned(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        let ours = partitions.filter { $0.topic == topic }
        var starts: [TopicPartition: Int64] = [:]
        do {
            let committed = try consumer.committed(ours)
            let recovery = ArchiveRecovery(store: store, prefix: prefix)
            let topic = self.topic
            for member in ours {
                let partition = member.partition
                let committedOffset = committed[member]
                let resume = try BlockingBridge.wait {
                    try await recovery.resumeOffset(topic: topic, partition: partition, committed: committedOffset)
                }
                var start = committedOffset
                if let resume {
                    // A previous run stored objects but stopped before committing them.
                    do {
                        try consumer.commit([member: resume])
                    } catch {
                        // Refused by a rebalance that has begun: the next assignment recovers the same offset.
                        guard error.isGroupMembershipChange else { throw error }
                        logger.warning("\(member): commit of \(resume) refused during a rebalance (\(error))")
                    }
                    starts[member] = resume
                    start = resume
                    logger.info(
                        "\(member): resuming at \(resume) after stored objects (committed \(committedOffset.map(String.init) ?? "none"))"
                    )
                }
                if once || start == nil {
                    let marks = try consumer.watermarks(topic: topic, partition: partition)
                    targets[partition] = marks.high
                    if start == nil { start = marks.low }
                }
                nextOffsets[partition] = start ?? 0
                // An explicit start spares librdkafka its own committed-offset and reset lookups.
                starts[member] = start ?? 0
            }
            logger.info("assigned \(ours.map(\.description).joined(separator: ", "))")
        } catch {
            // Consuming from the committed offset now could re-archive stored messages: stop instead.
            hookFailure = hookFailure ?? error
        }
        return starts
    }

    fileprivate func revoked(_ partitions: [TopicPartition]) {
        let lost = consumer.assignmentLost
        for member in partitions where member.topic == topic {
            if lost {
                // Another member may own it already; writing now could overlap its objects.
                if let dropped = buffers.seal(member.partition) {
                    logger.warning(
                        "\(member) was lost; dropped \(dropped.count) unflushed records (they will be consumed again)")
                }
                let queued = writer.drop(partition: member.partition)
                if queued > 0 {
                    logger.warning("\(member) was lost; dropped \(queued) records waiting to be stored")
                }
            } else {
                do { try flush(member.partition) } catch { hookFailure = hookFailure ?? error }
            }
            // Revoked partitions must be stored and committed (or dropped) before the group moves them.
            do { try writer.drain() } catch { hookFailure = hookFailure ?? error }
            nextOffsets[member.partition] = nil
            targets[member.partition] = nil
        }
    }

    private struct Listener: KafkaRebalanceListener {
        weak var archive: ArchiveConsumer?

        func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) -> [TopicPartition: Int64] {
            archive?.assigned(partitions) ?? [:]
        }

        func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) {
            archive?.revoked(partitions)
        }
    }
}
