import PinCore
import PinKafka
import PinPostgres

/// The records consumed since the last commit, cleaned or rejected, with the offsets they cover.
struct MicroBatch {
    let topic: String
    /// Cleaned rows, encoded for COPY as they are taken.
    private(set) var rows: PinRowBatch
    private(set) var rejects: [PinReject] = []
    /// Per partition: the offset after the last record taken.
    private(set) var nextOffsets: [Int32: Int64] = [:]
    /// When the first record was taken; the batch is committed `--max-wait` later at the latest.
    private(set) var startedAt: ContinuousClock.Instant?
    /// Scratch: the cleaned row of a well-formed, valid record (what `RawPin.fields(in:)` accepts).
    private var clean = CleanRows()

    /// Rows are encoded in `format` (`PinSink.copyFormat`).
    init(topic: String, format: CopyFormat) {
        self.topic = topic
        rows = PinRowBatch(format: format)
    }

    /// A batch like `previous`, with room for as much as it held.
    init(topic: String, sizedLike previous: MicroBatch) {
        self.topic = topic
        rows = PinRowBatch(
            reservingBytes: previous.rows.encodedSize, rows: previous.rows.added, format: previous.rows.format)
    }

    var count: Int { rows.added + rejects.count }
    var isEmpty: Bool { count == 0 }

    /// Cleans one message into a row, or keeps it as a dead letter with the reason.
    mutating func add(_ message: KafkaMessage, cleaner: inout PinCleaner) {
        if startedAt == nil { startedAt = .now }
        nextOffsets[message.partition] = message.nextOffset
        // The common case cleans straight from the value's bytes into COPY rows, with no String per value.
        if addFast(message, cleaner: &cleaner) { return }
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

    /// Cleans a valid record with `PinCleaner.clean(_:of:into:)`, the same rules as for a `RawPin`, and
    /// encodes the clean values for COPY. False when the record needs the full parser.
    private mutating func addFast(_ message: KafkaMessage, cleaner: inout PinCleaner) -> Bool {
        message.value.withUnsafeBufferPointer { text in
            guard let fields = RawPin.fields(in: text) else { return false }
            clean.removeAll()
            cleaner.clean(fields, of: text, into: &clean)
            let uniqueID = String(decoding: UnsafeBufferPointer(rebasing: text[fields.uniqueID]), as: UTF8.self)
            clean.bytes.withUnsafeBytes { bytes in
                rows.append(
                    uniqueID: uniqueID, partition: message.partition, offset: message.offset, rawValue: message.value
                ) { (row: inout CopyRow) throws(PostgresError) in
                    // CleanRows holds the clean columns in PinRow.columns order.
                    var reader = CleanRows.Reader(bytes)
                    row.append(reader.integer())  // ind
                    try row.append(utf8: reader.string())  // unique_id
                    try row.append(utf8: reader.string())  // title
                    try row.append(utf8: reader.string())  // description
                    row.append(reader.integer())  // follower_count
                    try row.append(utf8: reader.string())  // poster_name
                    if let tags = reader.list() {
                        row.beginArray()
                        try Self.forEachPlainItem(tags.plain) { item throws(PostgresError) in
                            try row.appendArrayItem(utf8: item)
                        }
                        row.endArray()
                    } else {
                        row.appendNull()
                    }
                    try row.append(utf8: reader.string())  // is_image_or_video
                    try row.append(utf8: reader.string())  // image_src
                    try row.append(utf8: reader.string())  // save_location
                    try row.append(utf8: reader.string())  // category
                    row.append(reader.bool())  // downloaded
                    row.append(message.partition)
                    row.append(message.offset)
                }
            }
            return true
        }
    }

    /// The items of a list as `CleanRows` holds them: each a 4-byte little-endian length and the bytes.
    private static func forEachPlainItem(
        _ plain: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(PostgresError) -> Void
    ) throws(PostgresError) {
        var offset = 0
        while offset < plain.count {
            let length = Int(UInt32(littleEndian: plain.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            try body(UnsafeRawBufferPointer(rebasing: plain[(offset + 4)..<(offset + 4 + length)]))
            offset += 4 + length
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
