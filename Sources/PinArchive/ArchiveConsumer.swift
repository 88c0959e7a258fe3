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
    /// Backlogs read straight from the partitions' leaders; nil when they cannot be (TLS, SASL).
    private var directReads: DirectReads?
    /// Pauses fetching while every partition is at its end, against brokers that do not wait.
    private var idlePause = IdleFetchPause()
    public private(set) var statistics = ArchiveStatistics()

    public init(
        consumer: KafkaConsumer, store: any ObjectStore, prefix: String, topic: String, policy: FlushPolicy, once: Bool,
        compression: StreamFormat = .none, readsBacklogsDirectly: Bool = true, logger: StderrLogger
    ) {
        self.consumer = consumer
        directReads = readsBacklogsDirectly ? DirectReads() : nil
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
    /// Records read directly between two polls of the member (which serve its group's events).
    static let directReadBudget = 5000
    /// A backlog at assignment from which on a partition is read directly (with `--once`, always).
    static let directReadThreshold: Int64 = 10_000

    /// Consumes until `shouldStop` returns true (checked between polls) or, with `once`, until
    /// the assigned partitions reached their end offsets seen at assignment; then flushes,
    /// commits and leaves the group. Backlogs are read straight from the leaders (``DirectReads``);
    /// with `once`, from before the group join on.
    public func run(shouldStop: () -> Bool) throws -> ArchiveStatistics {
        writer.start()
        defer { writer.stop() }
        removeAbandonedTemporaryFiles()
        if once { startReadingAhead() }
        try consumer.subscribe(topics: [topic], listener: Listener(archive: self))
        let started = clock.now
        var lastAgeCheck = clock.now
        while !shouldStop() {
            var timeout = Duration.milliseconds(200)
            if let directReads, !directReads.ends.isEmpty {
                // The member's poll only serves its events meanwhile.
                timeout = try readDirectly() > 0 ? .zero : .milliseconds(10)
            }
            let batch = try pollBatch(from: consumer, timeout: idlePause.pollTimeout(timeout))
            try applyDirectReadChanges()
            let topic = self.topic
            idlePause.afterPoll(
                consumer, polledNothing: batch.messages == 0 && batch.dropped.isEmpty,
                assigned: nextOffsets.keys.filter { !isReadDirectly($0) }.map {
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
        directReads?.readers = [:]
        try consumer.close()
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
    private func pollBatch(from source: KafkaConsumer, timeout: Duration) throws -> KafkaBatchResult {
        do {
            let result = try source.pollInPlace(upTo: batchLimit(), timeout: timeout) {
                try archive(
                    partition: $0.partition, offset: $0.offset, timestamp: $0.timestamp, value: $0.value,
                    readDirectly: false, topic: $0.topic)
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
            guard let next = nextOffsets[member.partition], !isReadDirectly(member.partition) else { continue }
            logger.debug("\(member): fetching again from \(next) after a rebalance")
            try consumer.seek(member, to: next)
        }
    }

    private func throwHookFailure() throws {
        if let failure = hookFailure { throw failure }
    }

    /// With `--once`, no more than the messages still wanted: librdkafka's batch call returns as
    /// soon as it holds that many, where a full-size batch would wait out the timeout at the end.
    /// (Counted over the partitions the member reads.)
    private func batchLimit() -> Int {
        guard once, !nextOffsets.isEmpty else { return Self.batchSize }
        var remaining: Int64 = 0
        for (partition, next) in nextOffsets where !isReadDirectly(partition) {
            guard let target = targets[partition] else { return Self.batchSize }
            remaining += max(0, target - next)
        }
        return Int(min(Int64(Self.batchSize), max(1, remaining)))
    }

    private func isReadDirectly(_ partition: Int32) -> Bool { directReads?.ends[partition] != nil }

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

    /// Archives a message read by the member or directly; each assigned partition is taken
    /// from one of the two only.
    private func archive(
        partition: Int32, offset: Int64, timestamp: Int64?, value: UnsafeBufferPointer<UInt8>, readDirectly: Bool,
        topic: String
    ) throws {
        guard topic == self.topic, let expected = nextOffsets[partition], offset >= expected,
            isReadDirectly(partition) == readDirectly
        else {
            return  // not ours any more, already archived, or read the other way
        }
        let date = utcDate(milliseconds: timestamp ?? Self.nowMilliseconds())
        let (runs, hadNewline) = buffers.add(
            partition: partition, offset: offset, value: value, date: date, now: clock.now)
        if hadNewline { statistics.valuesWithNewlines += 1 }
        nextOffsets[partition] = offset + 1
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
        var leaders: [Int32: KafkaBrokerAddress]?
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
                var high: Int64?
                if once || start == nil || directReads != nil {
                    let marks = try consumer.watermarks(topic: topic, partition: partition)
                    high = marks.high
                    if once { targets[partition] = marks.high }
                    if start == nil { start = marks.low }
                }
                let from = start ?? 0
                nextOffsets[partition] = from
                // An explicit start spares librdkafka its own committed-offset and reset lookups.
                starts[member] = from
                guard let directReads else { continue }
                directReads.handovers[member] = nil
                if let high,
                    let reader = directReader(
                        for: member, from: from, to: high, in: directReads, leaders: &leaders)
                {
                    directReads.ends[partition] = high
                    directReads.pauses.append(member)
                    // The member has nothing to fetch before the end offset; it takes over from there.
                    starts[member] = max(from, high)
                    logger.debug(
                        "\(member): reading \(from)..<\(high) from the leader (reader at \(reader.nextOffset))")
                } else {
                    directReads.resumes.append(member)
                }
            }
            if let directReads {
                // Readers started before the join for partitions not read directly: they would only hold a connection.
                for partition in directReads.readers.keys where directReads.ends[partition] == nil {
                    directReads.readers[partition] = nil
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
            // Were it assigned again, it is read from wherever the archive then ends.
            directReads?.stop(member.partition)
            directReads?.handovers[member] = nil
        }
    }

    // MARK: Reading backlogs directly

    /// `--once`: starts a reader on every partition of the topic from where the archive would
    /// resume it, before the group join, so that the broker prepares and sends the backlogs while
    /// the join is under way. Only partitions then assigned at the same offset are taken from them.
    private func startReadingAhead() {
        guard let directReads else { return }
        do {
            let leaders = try consumer.partitionLeaders(topic: topic)
            let members = leaders.keys.sorted().map { TopicPartition(topic: topic, partition: $0) }
            for (member, point) in try resumePoints(members) {
                let start = try point.offset ?? consumer.watermarks(topic: topic, partition: member.partition).low
                guard let leader = leaders[member.partition] else { continue }
                let reader = try KafkaPartitionReader(
                    leader: leader, topic: topic, partition: member.partition, offset: start)
                try reader.startFetch()
                directReads.readers[member.partition] = reader
            }
            logger.debug(
                "reading ahead while joining the group: \(directReads.readers.values.sorted { $0.partition < $1.partition }.map { "\(topic)[\($0.partition)] from \($0.nextOffset)" }.joined(separator: ", "))"
            )
        } catch {
            directReads.readers = [:]
            logger.debug("not reading ahead: \(error)")
        }
    }

    /// The reader for an assigned partition's backlog: the one started before the join if it
    /// starts at the same offset, else a new one when the backlog is worth it; nil leaves the
    /// partition to the member.
    /// `leaders` is asked of the cluster once per assignment, when first needed.
    private func directReader(
        for member: TopicPartition, from start: Int64, to end: Int64, in reads: DirectReads,
        leaders: inout [Int32: KafkaBrokerAddress]?
    ) -> KafkaPartitionReader? {
        if let reader = reads.readers[member.partition], reader.nextOffset == start, end > start { return reader }
        reads.readers[member.partition] = nil
        guard end - start >= (once ? 1 : Self.directReadThreshold) else { return nil }
        do {
            if leaders == nil { leaders = try consumer.partitionLeaders(topic: topic) }
            guard let leader = leaders?[member.partition] else { return nil }
            let reader = try KafkaPartitionReader(
                leader: leader, topic: topic, partition: member.partition, offset: start)
            reads.readers[member.partition] = reader
            return reader
        } catch {
            logger.warning(
                "\(member): cannot read its backlog from the leader (\(error)); the group's consumer reads it")
            return nil
        }
    }

    /// Reads the backlogs read directly, up to ``directReadBudget`` records in all, and hands
    /// each over to the member once it reached its end offset (or its reader failed). Returns
    /// how many records it read.
    private func readDirectly() throws -> Int {
        guard let reads = directReads else { return 0 }
        var total = 0
        // Starting one partition further each time, so that none waits long with its response unread.
        let order = reads.ends.keys.sorted()
        reads.turn = (reads.turn + 1) % max(1, order.count)
        for index in order.indices {
            let partition = order[(index + reads.turn) % order.count]
            guard let reader = reads.readers[partition], let end = reads.ends[partition] else { continue }
            var archiveFailure: (any Error)?
            do {
                while total < Self.directReadBudget, reader.nextOffset < end {
                    let passed = try reader.read { record in
                        guard record.offset < end else { return }
                        do {
                            try archive(
                                partition: partition, offset: record.offset, timestamp: record.timestamp,
                                value: record.value, readDirectly: true, topic: topic)
                        } catch {
                            archiveFailure = error
                            throw error
                        }
                    }
                    if passed == 0 { break }  // nothing new yet (e.g. an open transaction): come back later
                    total += passed
                }
            } catch {
                if let archiveFailure { throw archiveFailure }
                logger.warning(
                    "\(topic)[\(partition)]: reading from the leader failed at \(reader.nextOffset) (\(error)); the group's consumer reads on"
                )
                handOver(partition)
                continue
            }
            guard reader.nextOffset >= end else { continue }
            // Offsets without a record (transaction markers, compaction) end no object: all below `end` were read.
            if let next = nextOffsets[partition], next < end { nextOffsets[partition] = end }
            if once {
                reads.readers[partition] = nil  // done; the member, paused at the end offset, reads nothing
            } else {
                handOver(partition)
            }
        }
        return total
    }

    /// The member reads the partition on from the next offset to archive (after the next poll).
    private func handOver(_ partition: Int32) {
        guard let reads = directReads else { return }
        reads.stop(partition)
        if let next = nextOffsets[partition] {
            reads.handovers[TopicPartition(topic: topic, partition: partition)] = next
        }
    }

    /// Pauses the partitions just assigned to be read directly (at their end offsets, the member
    /// would only fetch what it must ignore), resumes those it reads itself, and moves each
    /// partition handed over to where reading directly stopped. Done after the poll whose hook
    /// assigned them: librdkafka applies the assignment on return.
    private func applyDirectReadChanges() throws {
        guard let reads = directReads, !reads.pauses.isEmpty || !reads.resumes.isEmpty || !reads.handovers.isEmpty
        else { return }
        try consumer.pause(reads.pauses)
        try consumer.resume(reads.resumes)
        if !reads.handovers.isEmpty { idlePause.resumeNow(consumer) }
        for (member, next) in reads.handovers.sorted(by: { $0.key.partition < $1.key.partition })
        where nextOffsets[member.partition] != nil {
            logger.debug("\(member): the group's consumer reads on from \(next)")
            try consumer.seek(member, to: next)
            try consumer.resume([member])
        }
        reads.pauses = []
        reads.resumes = []
        reads.handovers = [:]
    }

    /// Partitions whose backlog is read straight from the leader (``KafkaPartitionReader``), not
    /// by the member. librdkafka holds a whole fetch response until its last message is consumed,
    /// and a broker that ignores fetch sizes (noida-db) answers with the whole backlog: about a
    /// gigabyte for a million pins. A reader holds one record batch and reads as fast as the
    /// archive takes records. A partition assigned with a backlog is read so up to its high
    /// watermark at assignment while the member, assigned at that offset, stays paused; the
    /// member then reads on from there (with `--once`, the run ends there). Only assigned
    /// partitions are read, so the group still decides who archives what.
    private final class DirectReads {
        /// Open readers by partition; with `--once`, also the ones started before the join.
        var readers: [Int32: KafkaPartitionReader] = [:]
        /// The assigned partitions read directly now, each with where it is handed over: its high
        /// watermark at assignment. (With `--once`, a partition stays here once read to its end.)
        var ends: [Int32: Int64] = [:]
        /// For the member, after its next poll: partitions to pause (read directly), to resume
        /// (read by itself), and to read on from the offset given (handed over).
        var pauses: [TopicPartition] = []
        var resumes: [TopicPartition] = []
        var handovers: [TopicPartition: Int64] = [:]
        /// Which partition read directly ``readDirectly()`` starts with.
        var turn = 0

        /// The partition is no longer read directly.
        func stop(_ partition: Int32) {
            readers[partition] = nil
            ends[partition] = nil
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
