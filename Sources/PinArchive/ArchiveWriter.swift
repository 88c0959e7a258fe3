import Foundation
import PinCompression
import PinCore
import PinKafka
import PinObjectStore

/// Stores sealed runs off the consuming thread and commits the offset after each one once it is
/// stored, so that consuming goes on while objects are written (or uploaded).
///
/// Objects become visible strictly in the order their runs were sealed, and each commit follows
/// its object: the stored objects of a partition are always a prefix of its runs, which recovery
/// relies on (``ArchiveRecovery``). Where the store can stage objects (a local directory: write
/// and fsync a hidden file, then rename), several threads write and sync at once and only the
/// renames take turns, since a disk syncs a few files at once far faster than one after another;
/// other stores (S3) put one object at a time.
///
/// Commits after objects are asynchronous (a stored object needs no commit to be safe: recovery
/// reads the stored objects), and ``drain()`` ends with a synchronous one of the newest offsets, so
/// the group's offsets are current whenever the writer is drained. ``submit(_:)`` blocks while
/// the writer holds as many runs as it has threads, or `maxHeldBytes` of them, which bounds the
/// memory held by runs on their way out. The byte arrays of stored runs come back through
/// ``takeRecycled()`` to be filled again.
///
/// After a failure it stores nothing more (runs staged after the failed one are discarded): the
/// failure is reported by ``failure``, ``submit(_:)`` and ``drain()``, and the runs it dropped were
/// never committed, so they are consumed again.
final class ArchiveWriter: @unchecked Sendable {
    private struct State {
        var queue: [(sequence: Int, run: SealedRun)] = []
        var nextSequence = 0
        /// The sequence number of the next run to appear in the store.
        var nextToPublish = 0
        /// Runs taken by a writing thread and not yet done.
        var inFlight = 0
        /// Bytes of the runs queued or in flight.
        var heldBytes = 0
        var failure: (any Error)?
        var stopped = false
        var objects = 0
        var bytes = 0
        var invalidValues = 0
        var recycled: [[UInt8]] = []
        /// The next offset after the newest stored object of each partition, not yet committed synchronously.
        var unconfirmed: [Int32: Int64] = [:]
    }

    /// Guarded by `changed`.
    private var state = State()
    private let changed = NSCondition()
    private let threads: Int
    private let maxHeldBytes: Int
    private let store: any ObjectStore
    private let staging: (any StagingObjectStore)?
    private let prefix: String
    private let topic: String
    private let compression: StreamFormat
    private let consumer: KafkaConsumer
    private let logger: StderrLogger
    private let commitsEachObject: Bool

    /// Threads writing at once into a store that stages: four keep this machine's disk busy
    /// (100 objects of 7 MB: 0.3 to 1 s against 0.8 to 3.6 s one at a time).
    static let stagingThreads = 4

    /// Without `commitsEachObject`, offsets are committed only when the writer is drained.
    init(
        store: any ObjectStore, prefix: String, topic: String, compression: StreamFormat, consumer: KafkaConsumer,
        logger: StderrLogger, commitsEachObject: Bool = true, maxHeldBytes: Int = 32 << 20
    ) {
        self.commitsEachObject = commitsEachObject
        self.store = store
        staging = store as? any StagingObjectStore
        self.prefix = prefix
        self.topic = topic
        self.compression = compression
        self.consumer = consumer
        self.logger = logger
        self.maxHeldBytes = maxHeldBytes
        threads = staging == nil ? 1 : Self.stagingThreads
    }

    func start() {
        for index in 0..<threads {
            let thread = Thread { [self] in run() }
            thread.name = "archive-writer-\(index)"
            thread.start()
        }
    }

    /// Objects stored, their bytes (after compression) and the values in them that are not valid
    /// JSON, so far.
    var totals: (objects: Int, bytes: Int, invalidValues: Int) {
        locked { ($0.objects, $0.bytes, $0.invalidValues) }
    }

    var failure: (any Error)? { locked { $0.failure } }

    /// Queues runs to store, waiting while the writer holds as many as it may.
    func submit(_ runs: [SealedRun]) throws {
        guard !runs.isEmpty else { return }
        changed.lock()
        defer { changed.unlock() }
        for run in runs {
            while state.failure == nil && isFull(adding: run.bytes.count) { changed.wait() }
            if let failure = state.failure { throw failure }
            state.queue.append((state.nextSequence, run))
            state.nextSequence += 1
            state.heldBytes += run.bytes.count
            changed.broadcast()
        }
    }

    /// Whether one more run must wait; a single run is always taken, however large.
    private func isFull(adding bytes: Int) -> Bool {
        let held = state.queue.count + state.inFlight
        return held >= threads || (held > 0 && state.heldBytes + bytes > maxHeldBytes)
    }

    /// Waits until every queued run is stored, then commits the offsets after them synchronously;
    /// throws the failure if one failed.
    func drain() throws {
        changed.lock()
        while state.inFlight > 0 || (state.failure == nil && !state.queue.isEmpty) { changed.wait() }
        let failure = state.failure
        let unconfirmed = state.unconfirmed
        state.unconfirmed = [:]
        changed.unlock()
        if let failure { throw failure }
        for (partition, nextOffset) in unconfirmed.sorted(by: { $0.key < $1.key }) {
            try commit(nextOffset, of: partition, synchronously: true)
        }
    }

    /// Drops the queued runs of a partition (not those being stored); returns how many records they held.
    func drop(partition: Int32) -> Int {
        locked { state in
            let dropped = state.queue.filter { $0.run.name.partition == partition }
            state.queue.removeAll { $0.run.name.partition == partition }
            state.heldBytes -= dropped.reduce(0) { $0 + $1.run.bytes.count }
            state.unconfirmed[partition] = nil
            // The order of appearance skips the dropped runs.
            var sequence = 0
            for index in state.queue.indices {
                state.queue[index].sequence = state.nextToPublish + state.inFlight + sequence
                sequence += 1
            }
            state.nextSequence = state.nextToPublish + state.inFlight + sequence
            return dropped.reduce(0) { $0 + $1.run.count }
        }
    }

    /// The byte arrays of runs stored since the last call.
    func takeRecycled() -> [[UInt8]] {
        locked { state in
            defer { state.recycled.removeAll() }
            return state.recycled
        }
    }

    /// Ends the threads once the queue is empty.
    func stop() {
        locked { $0.stopped = true }
    }

    private func locked<T>(_ body: (inout State) -> T) -> T {
        changed.lock()
        defer {
            changed.broadcast()
            changed.unlock()
        }
        return body(&state)
    }

    private func run() {
        while var job = next() {
            let stored = store(job.run, sequence: job.sequence)
            finish(&job.run, stored: stored)
            // Give back the pages freed since the last object (librdkafka frees each message
            // as it is consumed, across its threads' arenas): resident memory then follows
            // what is held, not what was once allocated.
            if stored { releaseFreedMemory() }
        }
    }

    /// Writes the run, waits for its turn, makes it appear and commits after it; false if it was
    /// not stored (a failure, this run's or an earlier one's).
    private func store(_ run: SealedRun, sequence: Int) -> Bool {
        var staged: StagedObject?
        do {
            let written = try write(run)
            staged = written.staged
            guard waitForTurn(sequence) else {
                // An earlier run failed: this one must not appear after the gap.
                if let staged { staging?.discard(staged) }
                return false
            }
            staged = nil  // published or removed by `publish`, whatever happens
            try publish(written, of: run)
            return true
        } catch {
            if let staged { staging?.discard(staged) }
            locked {
                $0.failure = $0.failure ?? error
                $0.heldBytes -= $0.queue.reduce(0) { $0 + $1.run.bytes.count }
                $0.queue.removeAll()
            }
            return false
        }
    }

    /// The next run to store and its place in the order; nil once stopped with nothing left (or failed).
    private func next() -> (sequence: Int, run: SealedRun)? {
        changed.lock()
        defer { changed.unlock() }
        while state.failure == nil && state.queue.isEmpty && !state.stopped { changed.wait() }
        guard state.failure == nil, !state.queue.isEmpty else { return nil }
        state.inFlight += 1
        changed.broadcast()
        return state.queue.removeFirst()
    }

    /// Waits until the runs before `sequence` are stored; false if the writer failed meanwhile.
    private func waitForTurn(_ sequence: Int) -> Bool {
        changed.lock()
        defer { changed.unlock() }
        while state.failure == nil && state.nextToPublish != sequence { changed.wait() }
        return state.failure == nil
    }

    private func finish(_ run: inout SealedRun, stored: Bool) {
        locked { state in
            state.inFlight -= 1
            state.heldBytes -= run.bytes.count
            guard stored else { return }
            state.nextToPublish += 1
            guard state.recycled.count < 2 else { return }
            // Moved, not copied: the consumer can empty the array without reallocating it.
            var bytes: [UInt8] = []
            swap(&bytes, &run.bytes)
            state.recycled.append(bytes)
        }
    }

    private struct WrittenRun {
        var key: String
        /// What is stored: the run's bytes, compressed if asked.
        var bytes: [UInt8]
        var invalidValues: Int
        /// Written and synced but not yet visible (stores that stage only).
        var staged: StagedObject?
    }

    /// Counts the run's invalid values, compresses it and, where the store stages, writes it.
    private func write(_ run: SealedRun) throws -> WrittenRun {
        var name = run.name
        name.format = compression
        let key = name.key(prefix: prefix)
        // The JSON check only feeds the summary: it runs while the object is written and synced.
        let counted = InvalidValueCount()
        let counting = DispatchGroup()
        DispatchQueue.global().async(group: counting) { counted.set(run.countInvalidValues()) }
        let bytes = compression == .none ? run.bytes : try Compressor.compress(run.bytes, format: compression)
        let staged = try staging?.stage(key, bytes: bytes)
        counting.wait()
        return WrittenRun(key: key, bytes: bytes, invalidValues: counted.value, staged: staged)
    }

    /// Makes the written run appear in the store, then commits the offset after it.
    private func publish(_ written: WrittenRun, of run: SealedRun) throws {
        if let staged = written.staged {
            try staging!.publish(staged)
        } else {
            let store = self.store
            let (key, bytes) = (written.key, written.bytes)
            try BlockingBridge.wait { try await store.put(key, bytes: bytes) }
        }
        locked {
            $0.objects += 1
            $0.bytes += written.bytes.count
            $0.invalidValues += written.invalidValues
            $0.unconfirmed[run.name.partition] = run.nextOffset
        }
        if commitsEachObject { try commit(run.nextOffset, of: run.name.partition, synchronously: false) }
        logger.debug(
            "stored \(store.describe(written.key))",
            [("records", String(run.count)), ("bytes", String(written.bytes.count)), ("next", String(run.nextOffset))])
    }

    private func commit(_ nextOffset: Int64, of partition: Int32, synchronously: Bool) throws {
        let member = TopicPartition(topic: topic, partition: partition)
        do {
            try consumer.commit([member: nextOffset], synchronously: synchronously)
        } catch {
            guard error.isGroupMembershipChange else { throw error }
            // The object is stored: whoever is assigned the partition next resumes after it
            // (recovery reads the stored objects), so the commit is not needed for exactly-once.
            logger.warning(
                "\(member): commit of \(nextOffset) refused during a rebalance (\(error)); the next owner resumes after the stored object"
            )
        }
    }
}

/// The result of a run's JSON check, handed from the thread that counted it.
private final class InvalidValueCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int { lock.withLock { count } }
    func set(_ value: Int) { lock.withLock { count = value } }
}

#if canImport(Glibc)
    // glibc's malloc_trim(3), from <malloc.h>, which the Glibc module does not export.
    @_silgen_name("malloc_trim")
    private func mallocTrim(_ pad: Int) -> Int32

    /// Returns free heap pages to the system.
    private func releaseFreedMemory() { _ = mallocTrim(0) }
#else
    private func releaseFreedMemory() {}
#endif
