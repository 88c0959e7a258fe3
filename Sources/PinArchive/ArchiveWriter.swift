import Foundation
import PinCompression
import PinCore
import PinKafka
import PinObjectStore

/// Stores sealed runs on a thread of its own, in the order they were sealed, and commits the
/// offset after each one once it is stored, so that consuming goes on while an object is
/// written (or uploaded). Those commits are asynchronous (a stored object needs no commit to be
/// safe: recovery reads the stored objects), and ``drain()`` ends with a synchronous one of the
/// newest offsets, so the group's offsets are current whenever the writer is drained. It holds at most `depth` runs, the one being stored included;
/// ``submit(_:)`` blocks beyond that, which bounds the memory held by runs on their way out. The
/// byte arrays of stored runs come back through ``takeRecycled()`` to be filled again.
///
/// After a failure it stores nothing more: the failure is reported by ``failure``, ``submit(_:)``
/// and ``drain()``, and the runs it dropped were never committed, so they are consumed again.
final class ArchiveWriter: @unchecked Sendable {
    private struct State {
        var queue: [SealedRun] = []
        /// A run is being stored (it is no longer in `queue`).
        var busy = false
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
    private let depth: Int
    private let store: any ObjectStore
    private let prefix: String
    private let topic: String
    private let compression: StreamFormat
    private let consumer: KafkaConsumer
    private let logger: StderrLogger
    private let commitsEachObject: Bool

    /// Without `commitsEachObject`, offsets are committed only when the writer is drained.
    init(
        store: any ObjectStore, prefix: String, topic: String, compression: StreamFormat, consumer: KafkaConsumer,
        logger: StderrLogger, depth: Int = 1, commitsEachObject: Bool = true
    ) {
        self.commitsEachObject = commitsEachObject
        self.store = store
        self.prefix = prefix
        self.topic = topic
        self.compression = compression
        self.consumer = consumer
        self.logger = logger
        self.depth = max(1, depth)
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "archive-writer"
        thread.start()
    }

    /// Objects stored, their bytes (after compression) and the values in them that are not valid
    /// JSON, so far.
    var totals: (objects: Int, bytes: Int, invalidValues: Int) {
        locked { ($0.objects, $0.bytes, $0.invalidValues) }
    }

    var failure: (any Error)? { locked { $0.failure } }

    /// Queues runs to store, waiting while the writer holds `depth` runs.
    func submit(_ runs: [SealedRun]) throws {
        guard !runs.isEmpty else { return }
        changed.lock()
        defer { changed.unlock() }
        for run in runs {
            while state.failure == nil && state.queue.count + (state.busy ? 1 : 0) >= depth { changed.wait() }
            if let failure = state.failure { throw failure }
            state.queue.append(run)
            changed.broadcast()
        }
    }

    /// Waits until every queued run is stored, then commits the offsets after them synchronously;
    /// throws the failure if one failed.
    func drain() throws {
        changed.lock()
        while state.failure == nil && (state.busy || !state.queue.isEmpty) { changed.wait() }
        let failure = state.failure
        let unconfirmed = state.unconfirmed
        state.unconfirmed = [:]
        changed.unlock()
        if let failure { throw failure }
        for (partition, nextOffset) in unconfirmed.sorted(by: { $0.key < $1.key }) {
            try commit(nextOffset, of: partition, synchronously: true)
        }
    }

    /// Drops the queued runs of a partition (not one being stored); returns how many records they held.
    func drop(partition: Int32) -> Int {
        locked { state in
            let dropped = state.queue.filter { $0.name.partition == partition }.reduce(0) { $0 + $1.count }
            state.queue.removeAll { $0.name.partition == partition }
            state.unconfirmed[partition] = nil
            return dropped
        }
    }

    /// The byte arrays of runs stored since the last call.
    func takeRecycled() -> [[UInt8]] {
        locked { state in
            defer { state.recycled.removeAll() }
            return state.recycled
        }
    }

    /// Ends the thread once the queue is empty.
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
        while var run = next() {
            do {
                try store(run)
                locked { state in
                    state.busy = false
                    guard state.recycled.count < 2 else { return }
                    // Moved, not copied: the consumer can empty the array without reallocating it.
                    var bytes: [UInt8] = []
                    swap(&bytes, &run.bytes)
                    state.recycled.append(bytes)
                }
                // Give back the pages freed since the last object (librdkafka frees each message
                // as it is consumed, across its threads' arenas): resident memory then follows
                // what is held, not what was once allocated.
                releaseFreedMemory()
            } catch {
                locked {
                    $0.busy = false
                    $0.failure = $0.failure ?? error
                    $0.queue.removeAll()
                }
            }
        }
    }

    /// The next run to store, marking the writer busy; nil once stopped with nothing left (or failed).
    private func next() -> SealedRun? {
        changed.lock()
        defer { changed.unlock() }
        while state.failure == nil && state.queue.isEmpty && !state.stopped { changed.wait() }
        guard state.failure == nil, !state.queue.isEmpty else { return nil }
        state.busy = true
        changed.broadcast()
        return state.queue.removeFirst()
    }

    /// Stores one run as one object, then commits the offset after it.
    private func store(_ run: SealedRun) throws {
        var name = run.name
        name.format = compression
        let key = name.key(prefix: prefix)
        let store = self.store
        // The JSON check only feeds the summary: it runs while the object is written and synced.
        let counted = InvalidValueCount()
        let counting = DispatchGroup()
        DispatchQueue.global().async(group: counting) { counted.set(run.countInvalidValues()) }
        let bytes = compression == .none ? run.bytes : try Compressor.compress(run.bytes, format: compression)
        try BlockingBridge.wait { try await store.put(key, bytes: bytes) }
        counting.wait()
        let invalidValues = counted.value
        locked {
            $0.objects += 1
            $0.bytes += bytes.count
            $0.invalidValues += invalidValues
            $0.unconfirmed[run.name.partition] = run.nextOffset
        }
        if commitsEachObject { try commit(run.nextOffset, of: run.name.partition, synchronously: false) }
        logger.debug(
            "stored \(store.describe(key))",
            [("records", String(run.count)), ("bytes", String(bytes.count)), ("next", String(run.nextOffset))])
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
