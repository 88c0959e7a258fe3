import Dispatch
import PinCore
import PinKafka
import PinPostgres
import Synchronization

/// Consumes one topic in micro-batches and stores each batch, with the next offset per partition, in one
/// PostgreSQL transaction (`PinSink.commit`). PostgreSQL's offsets are the truth: on assignment every
/// partition starts at its stored offset, so a crash or rebalance at any moment neither loses nor repeats
/// a record. Kafka's group offsets are committed afterwards only so that lag shows in the usual tools.
///
/// Reading and storing overlap: while one batch's transaction runs on a thread of its own (`committer`),
/// the poll loop reads, cleans and encodes the next batch. Only one batch is in flight, and the next is
/// handed over only after it finished, so each batch still expects the offsets the previous one stored.
///
/// Everything else runs on the one thread that polls the consumer (librdkafka calls the rebalance hooks
/// inside `poll` and `close`). The committing thread touches only `sink` and `outcome`, and the polling
/// thread uses them only after `committed` was signalled, hence `@unchecked Sendable`.
final class StreamSink: KafkaRebalanceListener, @unchecked Sendable {
    struct Settings {
        var topic: String
        var maxBatch: Int
        var maxWait: Duration
        /// Stop at the end offsets seen when each partition was first assigned.
        var once: Bool
        var retry: RetryPolicy
        /// How often the group's Kafka offsets (for lag monitoring only) follow PostgreSQL's, as Kafka's
        /// own auto-commit does; also on revoke and at exit. With `once`, only on revoke and at exit (the
        /// local broker rewrites its whole snapshot after each commit, on the cores the run needs).
        var kafkaCommitInterval: Duration = .seconds(5)
    }

    private let consumer: KafkaConsumer
    private let sink: PinSink
    private let settings: Settings
    private let logger: StderrLogger
    private let progress: StreamProgress
    private var batch: MicroBatch
    private var cleaner = PinCleaner()
    private(set) var totals = StreamTotals()

    /// Partitions of the topic this member owns now.
    private var assigned: Set<Int32> = []
    private var everAssigned = false
    /// Pauses fetching while every partition is at its end, against brokers that do not wait.
    private var idlePause = IdleFetchPause()
    /// Per owned partition: the next offset stored in PostgreSQL, which the next commit must still find there.
    private var storedPositions: [Int32: Int64] = [:]
    /// Per owned partition: the next offset to read (--once progress).
    private var readPositions: [Int32: Int64] = [:]
    /// --once: per partition, the high watermark when it was first assigned.
    private var endOffsets: [Int32: Int64] = [:]
    /// A failure inside a rebalance hook, which cannot throw; the poll loop throws it.
    private var failure: StreamError?

    /// The batch whose transaction runs on `committer` while the poll loop fills the next one.
    private var inFlight: InFlight?
    private let committer = DispatchQueue(label: "pin-stream-pg.commit")
    /// Signalled by the committing thread when `outcome` is set.
    private let committed = DispatchSemaphore(value: 0)
    /// Set just before `committed` is signalled: the poll loop checks it after every message, which a
    /// semaphore wait, even one that does not block, would turn into a system call each.
    private let commitFinished = Atomic<Bool>(false)
    private var outcome: Result<PinSink.CommitResult, any Error>?
    /// Kafka offset commits (for lag monitoring only), off the polling thread.
    private let kafkaCommits = DispatchQueue(label: "pin-stream-pg.kafka-commit")
    /// Offsets stored in PostgreSQL and not yet committed to Kafka; when Kafka last got some (the first
    /// commit comes an interval after the start, so a short `--once` run commits to Kafka once, at the end).
    private var kafkaPending: [Int32: Int64] = [:]
    private var kafkaCommittedAt = ContinuousClock.now

    private struct InFlight {
        var request: PinSink.Batch
        var taken: Int
        var started: ContinuousClock.Instant
        /// `committed` was already consumed by `inFlightIsDone`.
        var done = false
    }

    init(consumer: KafkaConsumer, sink: PinSink, settings: Settings, logger: StderrLogger, progress: StreamProgress) {
        self.consumer = consumer
        self.sink = sink
        self.settings = settings
        self.logger = logger
        self.progress = progress
        batch = MicroBatch(topic: settings.topic, format: sink.copyFormat)
    }

    /// Polls until a signal arrives (or, with --once, until the end offsets are reached), commits the batch
    /// in flight and leaves the group.
    func run() throws(StreamError) -> StreamTotals {
        do {
            try consumer.subscribe(topics: [settings.topic], listener: self)
        } catch {
            throw StreamError(
                status: ExitStatus.unavailable, message: "cannot subscribe to \(settings.topic): \(error)")
        }
        defer { progress.finish() }
        do {
            try pollUntilDone()
            try submitBatch()
            try finishInFlight()
        } catch {
            // A commit still running may yet store its batch (or give up); either way nothing is lost. What
            // was read since is left to the next run (the revoke hook drops it instead of storing it).
            _ = try? finishInFlight()
            failure = failure ?? error
            closeConsumer()
            throw error
        }
        closeConsumer()
        if let failure { throw failure }
        return totals
    }

    private func pollUntilDone() throws(StreamError) {
        while true {
            if let failure { throw failure }
            if ShutdownSignal.requested {
                logger.info("stopping: committing the batch in flight")
                return
            }
            if settings.once && reachedEndOffsets { return }
            do {
                let message = try consumer.poll(timeout: idlePause.pollTimeout(pollTimeout))
                if let message { take(message) }
                let topic = settings.topic
                idlePause.afterPoll(
                    consumer, polledNothing: message == nil,
                    assigned: assigned.map { TopicPartition(topic: topic, partition: $0) }
                ) { readPositions[$0.partition] }
            } catch  where error.isFatal {
                throw StreamError(status: ExitStatus.unavailable, message: "Kafka consumer failed: \(error)")
            } catch {
                // librdkafka recovers from the others (broker restarts, rebalances) by itself.
                logger.warning("\(error)")
            }
            if let failure { throw failure }
            if inFlight != nil && inFlightIsDone { try finishInFlight() }
            if !kafkaPending.isEmpty, kafkaCommitIsDue { commitToKafka() }
            // A due batch waits for the one in flight by polling on; a full one by blocking.
            if batch.count >= settings.maxBatch || (batchIsDue && inFlightIsDone) { try submitBatch() }
            progress.update(totals)
        }
    }

    private func take(_ message: KafkaMessage) {
        // A message fetched before a revoke can still arrive; its partition's new owner handles it.
        guard message.topic == settings.topic, assigned.contains(message.partition) else { return }
        // Already stored (a fetch that raced a seek): applying it again would undo later versions.
        if let stored = storedPositions[message.partition], message.offset < stored { return }
        batch.add(message, cleaner: &cleaner)
        readPositions[message.partition] = message.nextOffset
    }

    private var batchIsDue: Bool {
        guard let started = batch.startedAt else { return false }
        return ContinuousClock.now - started >= settings.maxWait
    }

    /// Short enough to notice signals, the batch deadline and the end of the commit in flight.
    private var pollTimeout: Duration {
        guard let started = batch.startedAt else { return .milliseconds(100) }
        let left = settings.maxWait - (ContinuousClock.now - started)
        return max(inFlight == nil ? .zero : .milliseconds(2), min(.milliseconds(100), left))
    }

    private var reachedEndOffsets: Bool {
        everAssigned && assigned.allSatisfy { (readPositions[$0] ?? 0) >= (endOffsets[$0] ?? 0) }
    }

    // MARK: - Committing

    /// Hands the batch to the committing thread, once the batch in flight is stored, and starts a new one.
    /// The commit waits out PostgreSQL outages per the retry policy.
    private func submitBatch() throws(StreamError) {
        try finishInFlight()
        // Finishing may have dropped what was read after a batch that could not be stored.
        guard !batch.isEmpty else { return }
        let request = batch.sinkBatch(expected: storedPositions)
        inFlight = InFlight(request: request, taken: batch.count, started: .now)
        batch = MicroBatch(topic: settings.topic, sizedLike: batch)
        commitFinished.store(false, ordering: .relaxed)
        committer.async { [self] in
            outcome = Result {
                try settings.retry.run(
                    "committing a batch of \(request.rows.added + request.rejects.count) records", logger: logger
                ) {
                    if !sink.connection.isHealthy { try sink.connection.reset() }
                    return try sink.commit(request)
                }
            }
            commitFinished.store(true, ordering: .releasing)
            committed.signal()
        }
    }

    /// Whether the batch in flight (if any) is stored or failed, without waiting.
    private var inFlightIsDone: Bool {
        guard let flight = inFlight else { return true }
        if flight.done { return true }
        guard commitFinished.load(ordering: .acquiring) else { return false }
        committed.wait()  // signalled right after the flag was set
        inFlight?.done = true
        return true
    }

    /// Waits for the batch in flight, then counts it and moves the stored positions on, or, if its offsets
    /// moved meanwhile, drops it together with what was read after it from the same partitions.
    private func finishInFlight() throws(StreamError) {
        guard let flight = inFlight else { return }
        if !flight.done { committed.wait() }
        inFlight = nil
        let result = outcome!
        outcome = nil
        let request = flight.request
        let taken = flight.taken
        do {
            let result = try result.get()
            totals.records += taken
            totals.upserted += result.rowsWritten
            totals.duplicates += result.duplicatesCollapsed
            totals.rejected += result.rejectsWritten
            logger.debug(
                "committed \(taken) records (\(result.rowsWritten) upserted, \(result.rejectsWritten) rejected) "
                    + "in \(Int((ContinuousClock.now - flight.started).inSeconds * 1000)) ms")
            for reject in result.unstorable {
                logger.warning(
                    "partition \(reject.partition) offset \(reject.offset) moved to the dead-letter table: \(reject.reason)"
                )
            }
        } catch let conflict as PinSink.OffsetConflict {
            guard try resolve(conflict, request: request, taken: taken) else { return }
        } catch let error as StreamError {
            throw error
        } catch {
            throw StreamError(status: ExitStatus.software, message: "cannot store a batch: \(error)")
        }
        for (partition, next) in request.nextOffsets where assigned.contains(partition) {
            storedPositions[partition] = next
        }
        for (partition, next) in request.nextOffsets where assigned.contains(partition) {
            kafkaPending[partition] = next
        }
        if kafkaCommitIsDue { commitToKafka() }
    }

    private var kafkaCommitIsDue: Bool {
        !settings.once && ContinuousClock.now - kafkaCommittedAt >= settings.kafkaCommitInterval
    }

    /// The stored offsets moved under the batch: either this batch's own COMMIT landed before the
    /// connection broke (then the stored offsets are exactly its next offsets), or another member now owns
    /// the partitions and stored past them (then the batch is dropped and reading resumes from there).
    /// Returns whether the batch is stored.
    private func resolve(_ conflict: PinSink.OffsetConflict, request: PinSink.Batch, taken: Int) throws(StreamError)
        -> Bool
    {
        let stored: [Int32: Int64]
        do {
            stored = try settings.retry.run("reading stored offsets", logger: logger) {
                if !sink.connection.isHealthy { try sink.connection.reset() }
                return try sink.storedOffsets(topic: settings.topic)
            }
        } catch let error as StreamError {
            throw error
        } catch {
            throw StreamError(status: ExitStatus.software, message: "cannot read stored offsets: \(error)")
        }
        if request.nextOffsets.allSatisfy({ stored[$0.key] == $0.value }) {
            logger.info("batch of \(taken) records was already committed before the connection broke")
            totals.records += taken
            return true
        }
        logger.warning("\(conflict); dropping the batch of \(taken) records")
        // What was read after it from those partitions is read again from the stored offsets too.
        batch.drop(partitions: Set(request.nextOffsets.keys))
        idlePause.resumeNow(consumer)
        for partition in request.nextOffsets.keys where assigned.contains(partition) {
            let next = stored[partition] ?? KafkaOffset.beginning
            storedPositions[partition] = stored[partition]
            readPositions[partition] = stored[partition]
            do {
                try consumer.seek(TopicPartition(topic: settings.topic, partition: partition), to: next)
            } catch {
                // Reading on from the current position would skip the dropped records; a restart does not.
                throw StreamError(
                    status: ExitStatus.unavailable,
                    message: "cannot seek \(settings.topic)[\(partition)] back to the stored offset: \(error)")
            }
        }
        return false
    }

    /// Commits the pending offsets to the group, off the polling thread.
    private func commitToKafka() {
        kafkaCommittedAt = .now
        var offsets: [TopicPartition: Int64] = [:]
        for (partition, next) in kafkaPending where assigned.contains(partition) {
            offsets[TopicPartition(topic: settings.topic, partition: partition)] = next
        }
        kafkaPending = [:]
        guard !offsets.isEmpty else { return }
        kafkaCommits.async { [consumer, logger, offsets] in
            do {
                try consumer.commit(offsets)
            } catch {
                // Only monitoring reads these offsets; PostgreSQL holds the ones that count.
                logger.debug("Kafka offset commit failed: \(error)")
            }
        }
    }

    private func closeConsumer() {
        kafkaCommits.sync {}
        do { try consumer.close() } catch { logger.warning("closing the consumer: \(error)") }
        kafkaCommits.sync {}
    }

    // MARK: - Rebalance hooks

    func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) -> [TopicPartition: Int64] {
        everAssigned = true
        let mine = partitions.filter { $0.topic == settings.topic }
        guard !mine.isEmpty, failure == nil else { return [:] }
        let stored: [Int32: Int64]
        do {
            // The connection is free again once the batch in flight is done.
            try finishInFlight()
            stored = try settings.retry.run("reading stored offsets", logger: logger) {
                if !sink.connection.isHealthy { try sink.connection.reset() }
                return try sink.storedOffsets(topic: settings.topic)
            }
        } catch {
            // Nothing is consumed after this: the poll loop stops before the next commit.
            failure =
                error as? StreamError
                ?? StreamError(status: ExitStatus.software, message: "cannot read stored offsets: \(error)")
            return [:]
        }
        var starts: [TopicPartition: Int64] = [:]
        for topicPartition in mine {
            let partition = topicPartition.partition
            assigned.insert(partition)
            // No stored offset: everything the topic still holds, whatever the group committed before.
            starts[topicPartition] = stored[partition] ?? KafkaOffset.beginning
            storedPositions[partition] = stored[partition]
            readPositions[partition] = stored[partition]
            if settings.once { recordEndOffset(of: partition, stored: stored[partition], consumer: consumer) }
        }
        logger.info(
            "assigned \(mine.map { "[\($0.partition)]@\(stored[$0.partition].map(String.init) ?? "beginning")" }.joined(separator: " ")) of \(settings.topic)"
        )
        return starts
    }

    private func recordEndOffset(of partition: Int32, stored: Int64?, consumer: KafkaConsumer) {
        do {
            let marks = try consumer.watermarks(topic: settings.topic, partition: partition)
            if endOffsets[partition] == nil { endOffsets[partition] = marks.high }
            if stored == nil || stored! < marks.low { readPositions[partition] = marks.low }
        } catch {
            failure = StreamError(
                status: ExitStatus.unavailable,
                message: "cannot read the end offset of \(settings.topic)[\(partition)]: \(error)")
        }
    }

    func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) {
        let gone = Set(partitions.filter { $0.topic == settings.topic }.map(\.partition))
        guard !gone.isEmpty else { return }
        if consumer.assignmentLost || failure != nil {
            // Another member may own them already; its reads start from the stored offsets. The batch in
            // flight is fenced by the offsets it expects, so letting it finish is safe.
            assigned.subtract(gone)
            batch.drop(partitions: gone)
            do { try finishInFlight() } catch { failure = failure ?? error }
        } else {
            // Store everything read from them before they move.
            do {
                try submitBatch()
                try finishInFlight()
            } catch {
                failure = error
                batch.drop(partitions: gone)
            }
        }
        commitToKafka()
        kafkaCommits.sync {}
        assigned.subtract(gone)
        for partition in gone {
            storedPositions[partition] = nil
            readPositions[partition] = nil
        }
        logger.info("revoked \(gone.sorted().map { "[\($0)]" }.joined(separator: " ")) of \(settings.topic)")
    }
}
