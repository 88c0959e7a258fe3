import Foundation
import PinCore

/// A partition's run of messages, ready to be stored as one object.
public struct SealedRun: Sendable {
    public var name: ArchiveObjectName
    public var bytes: [UInt8]
    public var count: Int
    /// The offset after the run's last message: what to commit once it is stored.
    public var nextOffset: Int64
    /// Lines (in ascending order) whose values were checked as they were appended, and how many
    /// of those were not valid JSON.
    var checkedLines: [Int] = []
    var invalidCheckedLines = 0

    /// How many of the run's values are not valid UTF-8 JSON. Done by the thread that stores
    /// the run, off the consuming thread; values that held newlines were checked on the way in.
    public func countInvalidValues() -> Int {
        var invalid = invalidCheckedLines
        var checked = checkedLines[...]
        bytes.withUnsafeBufferPointer { (all: UnsafeBufferPointer<UInt8>) in
            guard let base = all.baseAddress else { return }
            var start = 0
            var line = 0
            while start < all.count {
                var end = all.count
                if let newline = memchr(base + start, 0x0A, all.count - start) {
                    end = UnsafeRawPointer(newline) - UnsafeRawPointer(base)
                }
                if checked.first == line {
                    checked.removeFirst()
                } else if !JSONValidator.isValid(UnsafeBufferPointer(start: base + start, count: end - start)) {
                    invalid += 1
                }
                start = end + 1
                line += 1
            }
        }
        return invalid
    }
}

/// The open runs of every partition and the rules that cut them: a new date, an offset gap, the
/// flush policy's record, byte and age limits, and the memory cap across partitions.
public struct ArchiveBuffers {
    public let topic: String
    public let policy: FlushPolicy
    private var buffers: [Int32: PartitionBuffer] = [:]
    public private(set) var bufferedBytes = 0
    /// Emptied arrays of stored runs, filled again by the next runs (no regrowing, no new pages).
    private var spares: [[UInt8]] = []

    public init(topic: String, policy: FlushPolicy) {
        self.topic = topic
        self.policy = policy
    }

    /// ``add(partition:offset:value:date:now:)`` for a value held in an array.
    public mutating func add(
        partition: Int32, offset: Int64, value: [UInt8], date: String, now: ContinuousClock.Instant
    ) -> (runs: [SealedRun], hadNewline: Bool) {
        value.withUnsafeBufferPointer { add(partition: partition, offset: offset, value: $0, date: date, now: now) }
    }

    /// Adds one message. Returns the runs to store now, in this order, and whether the value held
    /// newline bytes (they are stored as spaces).
    public mutating func add(
        partition: Int32, offset: Int64, value: UnsafeBufferPointer<UInt8>, date: String, now: ContinuousClock.Instant
    ) -> (runs: [SealedRun], hadNewline: Bool) {
        var runs: [SealedRun] = []
        // Cut on a new date, and on an offset gap so that an object's offsets are always
        // first..first+lines-1 (which recovery relies on).
        if let open = buffers[partition], open.date != date || open.lastOffset + 1 != offset, let run = seal(partition)
        {
            runs.append(run)
        }
        var buffer =
            buffers.removeValue(forKey: partition)
            ?? PartitionBuffer(firstOffset: offset, date: date, startedAt: now, storage: newStorage())
        let before = buffer.bytes.count
        let hadNewline = buffer.append(offset: offset, value: value)
        bufferedBytes += buffer.bytes.count - before
        buffers[partition] = buffer
        if buffer.count >= policy.maxRecords || buffer.bytes.count >= policy.maxBytes, let run = seal(partition) {
            runs.append(run)
        }
        while bufferedBytes > policy.maxBufferBytes,
            let largest = buffers.max(by: { $0.value.bytes.count < $1.value.bytes.count })?.key,
            let run = seal(largest)
        {
            runs.append(run)
        }
        return (runs, hadNewline)
    }

    /// Takes back the bytes of a stored run (leaving `storage` empty), for a later run to fill:
    /// its pages are already in memory, so filling it costs no page faults. Only an array held
    /// nowhere else is kept; emptying a shared one would allocate anew.
    public mutating func recycle(_ storage: inout [UInt8]) {
        var taken: [UInt8] = []
        swap(&taken, &storage)
        guard spares.count < 2, taken.capacity > 0 else { return }
        taken.removeAll(keepingCapacity: true)
        spares.append(taken)
    }

    /// An empty array for a new run: a recycled one, else one with room for a full run (pages
    /// are only touched as they are filled).
    private mutating func newStorage() -> [UInt8] {
        if let spare = spares.popLast() { return spare }
        var storage: [UInt8] = []
        storage.reserveCapacity(min(policy.maxBytes, 64 << 20) + (64 << 10))
        return storage
    }

    /// Closes the partition's open run, if any.
    public mutating func seal(_ partition: Int32) -> SealedRun? {
        guard let buffer = buffers.removeValue(forKey: partition) else { return nil }
        bufferedBytes -= buffer.bytes.count
        return SealedRun(
            name: ArchiveObjectName(
                topic: topic, partition: partition, firstOffset: buffer.firstOffset, date: buffer.date),
            bytes: buffer.bytes, count: buffer.count, nextOffset: buffer.lastOffset + 1,
            checkedLines: buffer.checkedLines, invalidCheckedLines: buffer.invalidCheckedLines)
    }

    /// Closes the runs whose first message is at least the policy's age old.
    public mutating func sealAged(now: ContinuousClock.Instant) -> [SealedRun] {
        buffers.filter { now - $0.value.startedAt >= policy.maxAge }.keys.sorted().compactMap { seal($0) }
    }

    public mutating func sealAll() -> [SealedRun] {
        buffers.keys.sorted().compactMap { seal($0) }
    }
}
