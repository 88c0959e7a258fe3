/// The rows of one `PinSink.commit`, encoded for binary COPY as they are added, so that the thread that
/// commits only sends bytes (`pin-stream-pg` encodes the next batch while the previous one commits).
///
/// A later row with the same `unique_id` replaces an earlier one, which is counted in `duplicates`. A row
/// PostgreSQL cannot store (a NUL byte in a text value) is not encoded; it is kept in `unstorable` as a
/// dead letter with its raw value and the reason, and does not replace an earlier row.
public struct PinRowBatch: Sendable {
    enum State: UInt8, Sendable {
        /// The latest row of its `unique_id`: written.
        case latest
        /// A later row has the same `unique_id`.
        case replaced
        /// Taken out by `removeAll(partitions:)`.
        case removed
    }

    /// How rows are encoded: the COPY statements that send them must ask for this format. Binary unless
    /// the table's columns differ in type from the ones `PinSink` creates (`PinSink.copyFormat`).
    public let format: CopyFormat

    /// Every encoded row (a binary COPY tuple), back to back.
    private(set) var bytes: [UInt8] = []
    /// Per encoded row: where its line ends in `bytes`, its `unique_id`, partition and state.
    private var ends: [Int] = []
    private(set) var uniqueIDs: [String] = []
    private var partitions: [Int32] = []
    private(set) var states: [State] = []
    /// Per `unique_id`: the index of its latest row.
    private var latestIndex: [String: Int] = [:]
    /// Rows that cannot be stored, as dead letters.
    public private(set) var unstorable: [PinReject] = []
    /// Rows dropped because a later row had the same `unique_id`.
    public private(set) var duplicates = 0

    public init(format: CopyFormat = .binary) {
        self.format = format
    }

    /// Room for `bytes` of encoded rows and `rows` rows, so that a batch like the last one does not grow its
    /// buffers step by step.
    public init(reservingBytes bytes: Int, rows: Int, format: CopyFormat = .binary) {
        self.format = format
        self.bytes.reserveCapacity(bytes)
        ends.reserveCapacity(rows)
        uniqueIDs.reserveCapacity(rows)
        partitions.reserveCapacity(rows)
        states.reserveCapacity(rows)
        latestIndex.reserveCapacity(rows)
    }

    public init(_ rows: [PinRow], format: CopyFormat = .binary) {
        self.format = format
        for row in rows { append(row) }
    }

    /// Rows to write: one per `unique_id`.
    public var count: Int { latestIndex.count }

    /// Rows added (written, replaced or unstorable), not counting removed ones.
    public var added: Int { latestIndex.count + duplicates + unstorable.count }

    public var isEmpty: Bool { added == 0 }

    /// Bytes of encoded rows held.
    public var encodedSize: Int { bytes.count }

    /// Encodes `row`; it replaces an earlier row with the same `unique_id`.
    public mutating func append(_ row: PinRow) {
        append(uniqueID: row.uniqueID, partition: row.kafkaPartition, offset: row.kafkaOffset, rawValue: row.rawValue) {
            (line: inout CopyRow) throws(PostgresError) in try row.write(to: &line)
        }
    }

    /// Encodes a row whose values `encode` appends, in `PinRow.columns` order; it replaces an earlier row with
    /// the same `unique_id`. If a value cannot be stored, the row is kept in `unstorable` with `rawValue`.
    public mutating func append(
        uniqueID: String, partition: Int32, offset: Int64, rawValue: @autoclosure () -> [UInt8],
        encode: (inout CopyRow) throws(PostgresError) -> Void
    ) {
        let start = bytes.count
        var line = CopyRow(columns: PinRow.columns, format: format, appendingTo: &bytes)
        do {
            try encode(&line)
            try line.finish()
        } catch {
            line.bytes.removeSubrange(start...)
            swap(&line.bytes, &bytes)
            unstorable.append(
                PinReject(partition: partition, offset: offset, rawValue: rawValue(), reason: error.description))
            return
        }
        swap(&line.bytes, &bytes)
        let index = ends.count
        ends.append(bytes.count)
        uniqueIDs.append(uniqueID)
        partitions.append(partition)
        states.append(.latest)
        if let earlier = latestIndex.updateValue(index, forKey: uniqueID) {
            states[earlier] = .replaced
            duplicates += 1
        }
    }

    /// Forgets the rows (and unstorable rows) taken from `partitions`; a `unique_id` whose latest row is
    /// removed falls back to its latest remaining row.
    public mutating func removeAll(partitions removed: Set<Int32>) {
        guard !removed.isEmpty else { return }
        unstorable.removeAll { removed.contains($0.partition) }
        latestIndex.removeAll(keepingCapacity: true)
        duplicates = 0
        for index in states.indices {
            if removed.contains(partitions[index]) { states[index] = .removed }
            guard states[index] != .removed else { continue }
            states[index] = .latest
            if let earlier = latestIndex.updateValue(index, forKey: uniqueIDs[index]) {
                states[earlier] = .replaced
                duplicates += 1
            }
        }
    }

    /// The `unique_id` of every row to write.
    var latestUniqueIDs: [String] {
        var ids: [String] = []
        ids.reserveCapacity(latestIndex.count)
        for index in states.indices where states[index] == .latest { ids.append(uniqueIDs[index]) }
        return ids
    }

    /// Calls `body` with the encoded rows of every row to write, in order: all at once when no row was
    /// replaced or removed, else in runs.
    func forEachLine(_ body: (_ lines: UnsafeRawBufferPointer, _ rows: Int) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            var start = 0
            var runStart = 0
            var runRows = 0
            for index in states.indices {
                let end = ends[index]
                defer { start = end }
                if states[index] == .latest {
                    if runRows == 0 { runStart = start }
                    runRows += 1
                } else if runRows > 0 {
                    try body(UnsafeRawBufferPointer(rebasing: all[runStart..<start]), runRows)
                    runRows = 0
                }
            }
            if runRows > 0 { try body(UnsafeRawBufferPointer(rebasing: all[runStart..<start]), runRows) }
        }
    }

    /// Calls `body` with the encoded row of every row to write whose `unique_id` passes `include`, in order.
    func forEachLine(where include: (String) -> Bool, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            var start = 0
            for index in states.indices {
                let end = ends[index]
                defer { start = end }
                guard states[index] == .latest, include(uniqueIDs[index]) else { continue }
                try body(UnsafeRawBufferPointer(rebasing: all[start..<end]))
            }
        }
    }
}
