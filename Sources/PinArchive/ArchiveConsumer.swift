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
    /// `--once`: partitions read ahead while the group join is under way.
    private var readAhead: ReadAhead?
    private let readAheadConsumer: KafkaConsumer?
    /// Pauses fetching while every partition is at its end, against brokers that do not wait.
    private var idlePause = IdleFetchPause()
    public private(set) var statistics = ArchiveStatistics()

    public init(
        consumer: KafkaConsumer, store: any ObjectStore, prefix: String, topic: String, policy: FlushPolicy, once: Bool,
        compression: StreamFormat = .none, readAheadConsumer: KafkaConsumer? = nil, logger: StderrLogger
    ) {
        self.consumer = consumer
        self.readAheadConsumer = once ? readAheadConsumer : nil
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
    /// commits and leaves the group. With `once` and a `readAheadConsumer`, the partitions are
    /// read ahead while the group join is under way (``ReadAhead``).
    public func run(shouldStop: () -> Bool) throws -> ArchiveStatistics {
        writer.start()
        defer { writer.stop() }
        removeAbandonedTemporaryFiles()
        if let readAheadConsumer { readAhead = startReadAhead(readAheadConsumer) }
        try consumer.subscribe(topics: [topic], listener: Listener(archive: self))
        let started = clock.now
        var lastAgeCheck = clock.now
        while !shouldStop() {
            var timeout = Duration.milliseconds(200)
            if let readAhead, !readAhead.served.isEmpty {
                _ = try pollBatch(from: readAhead.consumer, readAhead: true, timeout: .milliseconds(100))
                timeout = .zero  // the member's poll only serves its events meanwhile
            }
            let batch = try pollBatch(from: consumer, timeout: idlePause.pollTimeout(timeout))
            try applyReadAheadPauses()
            let topic = self.topic
            idlePause.afterPoll(
                consumer, polledNothing: batch.messages == 0 && batch.dropped.isEmpty,
                assigned: nextOffsets.keys.filter { !isReadAhead($0) }.map {
                    TopicPartition(topic: topic, partition: $0)
                }
            ) { nextOffsets[$0.partition] }
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
        try readAhead?.consumer.close()
        try throwHookFailure()
        try writer.drain()
        (statistics.objects, statistics.bytes, statistics.invalidValues) = writer.totals
        return statistics
    }

    /// A directory keeps the temporary files of objects whose writer was killed mid-write; those
    /// untouched for an hour cannot belong to a live writer (an object takes seconds).
    private func removeAbandonedTemporaryFiles() {
        guard let directory = store as? LocalDirectoryStore else { return }
        let folder = ArchiveObjectName.topicFolder(prefix: prefix, topic: topic)
        do {
            let removed = try directory.removeTemporaryFiles(under: folder, olderThan: 3600)
            if removed > 0 {
                logger.info("removed \(removed) temporary files left by writers stopped an hour ago or more")
            }
        } catch {
            logger.warning("could not clear old temporary files under \(directory.describe(folder)): \(error)")
        }
    }

    /// One batch of messages, each archived; transient consumer errors are logged (librdkafka
    /// recovers from them).
    /// From the member, or with `readAhead` from the read-ahead consumer (only the partitions taken
    /// from it count towards the batch limit).
    private func pollBatch(from source: KafkaConsumer, readAhead: Bool = false, timeout: Duration) throws
        -> KafkaBatchResult
    {
        do {
            let result = try source.pollInPlace(upTo: batchLimit(readAhead: readAhead), timeout: timeout) {
                try archive($0, readAhead: readAhead)
            }
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
        idlePause.resumeNow(consumer)
        for member in partitions where member.topic == topic {
            guard let next = nextOffsets[member.partition], !isReadAhead(member.partition) else { continue }
            logger.debug("\(member): fetching again from \(next) after a rebalance")
            try consumer.seek(member, to: next)
        }
    }

    private func throwHookFailure() throws {
        if let failure = hookFailure { throw failure }
    }

    /// With `--once`, no more than the messages still wanted: librdkafka's batch call returns as
    /// soon as it holds that many, where a full-size batch would wait out the timeout at the end.
    /// (Counted over the partitions read from the given consumer.)
    private func batchLimit(readAhead fromReadAhead: Bool) -> Int {
        guard once, !nextOffsets.isEmpty else { return Self.batchSize }
        var remaining: Int64 = 0
        for (partition, next) in nextOffsets where isReadAhead(partition) == fromReadAhead {
            guard let target = targets[partition] else { return Self.batchSize }
            remaining += max(0, target - next)
        }
        return Int(min(Int64(Self.batchSize), max(1, remaining)))
    }

    private func isReadAhead(_ partition: Int32) -> Bool { readAhead?.served.contains(partition) == true }

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

    /// Archives a message read by the member (`readAhead` false) or read ahead; each assigned
    /// partition is taken from one of the two only.
    private func archive(_ message: KafkaMessageView, readAhead fromReadAhead: Bool) throws {
        let partition = message.partition
        guard message.topic == topic, let expected = nextOffsets[partition], message.offset >= expected,
            isReadAhead(partition) == fromReadAhead
        else {
            return  // not ours any more, already archived, or read by the other consumer
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
            for (member, point) in try resumePoints(ours) {
                let partition = member.partition
                var start = point.offset
                if let resume = point.recovered {
                    // A previous run stored objects but stopped before committing them.
                    do {
                        try consumer.commit([member: resume])
                    } catch {
                        // Refused by a rebalance that has begun: the next assignment recovers the same offset.
                        guard error.isGroupMembershipChange else { throw error }
                        logger.warning("\(member): commit of \(resume) refused during a rebalance (\(error))")
                    }
                    logger.info(
                        "\(member): resuming at \(resume) after stored objects (committed \(point.committed.map(String.init) ?? "none"))"
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
                if let readAhead, let start, readAhead.starts[partition] == start, let target = targets[partition] {
                    // Read ahead from the same offset: take those messages; the member itself
                    // has nothing to fetch before the end offset, so it starts there.
                    readAhead.served.insert(partition)
                    readAhead.pauses.append(member)
                    starts[member] = max(start, target)
                    logger.debug("\(member): taking the messages read ahead from \(start)")
                } else if let readAhead {
                    readAhead.resumes.append(member)
                }
            }
            if let readAhead {
                // Stop reading ahead what the member does not take from there (not assigned,
                // or assigned at another offset): it would only hold memory.
                for partition in readAhead.starts.keys.sorted() where !readAhead.served.contains(partition) {
                    readAhead.starts[partition] = nil
                    readAhead.dropped.append(TopicPartition(topic: topic, partition: partition))
                }
            }
            logger.info("assigned \(ours.map(\.description).joined(separator: ", "))")
        } catch {
            // Consuming from the committed offset now could re-archive stored messages: stop instead.
            hookFailure = hookFailure ?? error
        }
        return starts
    }

    /// Where the archive resumes a partition: after its newest stored object when a previous run
    /// stored objects past the committed offset (and stopped before committing them), else at the
    /// committed offset; neither: at the low watermark.
    private struct ResumePoint {
        let committed: Int64?
        let recovered: Int64?
        var offset: Int64? { recovered ?? committed }
    }

    /// Each member with its resume point, in the order given.
    private func resumePoints(_ members: [TopicPartition]) throws -> [(TopicPartition, ResumePoint)] {
        let committed = try consumer.committed(members)
        let recovery = ArchiveRecovery(store: store, prefix: prefix)
        let topic = self.topic
        return try members.map { member in
            let committedOffset = committed[member]
            let recovered = try BlockingBridge.wait {
                try await recovery.resumeOffset(topic: topic, partition: member.partition, committed: committedOffset)
            }
            return (member, ResumePoint(committed: committedOffset, recovered: recovered))
        }
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
            // Were it assigned again, the member reads it from wherever the archive then ends.
            if let readAhead, readAhead.starts.removeValue(forKey: member.partition) != nil {
                readAhead.served.remove(member.partition)
                readAhead.dropped.append(member)
            }
        }
    }

    // MARK: Reading ahead

    /// `--once`: starts reading every partition of the topic from where the archive would resume
    /// it, on the second consumer (which joins no group); nil if anything needed is unavailable.
    private func startReadAhead(_ reader: KafkaConsumer) -> ReadAhead? {
        do {
            let topic = self.topic
            // Asked of the reader: its connection is then up and the topic's leaders in its cache when
            // it is assigned. Assigned first, it would find no broker yet, skip its leader query and
            // wait for librdkafka's next one-second scan of unknown leaders before fetching.
            let members = try reader.partitions(topic: topic).map { TopicPartition(topic: topic, partition: $0) }
            var starts: [TopicPartition: Int64] = [:]
            for (member, point) in try resumePoints(members) {
                starts[member] = try point.offset ?? consumer.watermarks(topic: topic, partition: member.partition).low
            }
            try reader.assign(starts)
            logger.debug(
                "reading ahead while joining the group: \(starts.keys.sorted { $0.partition < $1.partition }.map { "\($0) from \(starts[$0]!)" }.joined(separator: ", "))"
            )
            return ReadAhead(
                consumer: reader, starts: Dictionary(uniqueKeysWithValues: starts.map { ($0.partition, $1) }))
        } catch {
            logger.debug("not reading ahead: \(error)")
            return nil
        }
    }

    /// The member pauses the partitions taken from the read-ahead consumer (at their end offsets,
    /// fetching would only ask again and again for nothing) and resumes any it reads itself. Done
    /// after the poll whose hook assigned them: librdkafka applies the assignment on return.
    private func applyReadAheadPauses() throws {
        guard let readAhead, !readAhead.pauses.isEmpty || !readAhead.resumes.isEmpty || !readAhead.dropped.isEmpty
        else { return }
        try consumer.pause(readAhead.pauses)
        try consumer.resume(readAhead.resumes)
        // What was read ahead of partitions the member reads itself (or no longer has) is not needed.
        try readAhead.consumer.unassign(readAhead.dropped)
        readAhead.pauses = []
        readAhead.resumes = []
        readAhead.dropped = []
    }

    /// `--once` with a group whose first join the broker holds for a while (noida-db about 0.33 s;
    /// Kafka's `group.initial.rebalance.delay.ms`, 3 s by default): a second consumer, which joins
    /// no group, starts fetching every partition from where the archive would resume it before
    /// the join is done. When the group then assigns a partition at that same offset, its
    /// messages are taken from the read-ahead consumer and the member starts its own fetch of
    /// it at the end offset. Only assigned partitions are ever taken, so the group still decides
    /// who archives what; a partition assigned at another offset is read by the member as usual.
    private final class ReadAhead {
        let consumer: KafkaConsumer
        /// Where each partition's read began.
        var starts: [Int32: Int64]
        /// The assigned partitions taken from here; a revoked one leaves for good.
        var served: Set<Int32> = []
        /// Assigned partitions the member is to pause (taken from here) or resume (read by itself).
        var pauses: [TopicPartition] = []
        var resumes: [TopicPartition] = []
        /// Partitions to stop reading ahead: assigned at another offset, or revoked.
        var dropped: [TopicPartition] = []

        init(consumer: KafkaConsumer, starts: [Int32: Int64]) {
            self.consumer = consumer
            self.starts = starts
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
