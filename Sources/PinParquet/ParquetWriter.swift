import Dispatch
import PinCompression

/// Writes a Parquet file row by row, one row group at a time.
///
/// Values are appended column by column for each row (`append(_:to:)` then `endRow()`), or a whole row at once
/// with `write(row:)`. When a row group reaches `rowGroupRows` rows or about `rowGroupBytes` of buffered data it is
/// encoded and written to the sink, so memory stays bounded by the row-group size.
public final class ParquetWriter {
    public struct Options: Sendable {
        /// Page compression.
        public var compression: CompressionCodec
        /// Codec-specific level (gzip 1...9, zstd 1...22); nil for the codec's default.
        public var compressionLevel: Int?
        /// Rows per row group.
        public var rowGroupRows: Int
        /// Buffered bytes that also end a row group.
        public var rowGroupBytes: Int
        /// Target uncompressed size of a data page.
        public var pageBytes: Int
        /// Dictionary-encode string columns where it pays.
        public var dictionary: Bool
        /// A column falls back to PLAIN (for the rest of the row group) when its dictionary page would exceed this.
        public var dictionaryPageBytes: Int
        /// … or when it holds more distinct values than this.
        public var dictionaryMaxEntries: Int
        /// String min/max statistics longer than this are left out.
        public var maxStatisticsBytes: Int
        /// Extra key/value pairs for the footer.
        public var metadata: [String: String]

        public init(
            compression: CompressionCodec = .zstd,
            compressionLevel: Int? = nil,
            rowGroupRows: Int = 1_000_000,
            rowGroupBytes: Int = 128 << 20,
            pageBytes: Int = 1 << 20,
            dictionary: Bool = true,
            dictionaryPageBytes: Int = 1 << 20,
            dictionaryMaxEntries: Int = 1 << 20,
            maxStatisticsBytes: Int = 4096,
            metadata: [String: String] = [:]
        ) {
            self.compression = compression
            self.compressionLevel = compressionLevel
            self.rowGroupRows = rowGroupRows
            self.rowGroupBytes = rowGroupBytes
            self.pageBytes = pageBytes
            self.dictionary = dictionary
            self.dictionaryPageBytes = dictionaryPageBytes
            self.dictionaryMaxEntries = dictionaryMaxEntries
            self.maxStatisticsBytes = maxStatisticsBytes
            self.metadata = metadata
        }
    }

    /// What `close()` reports about the finished file.
    public struct FileSummary: Sendable, Equatable {
        public var rows: Int
        public var rowGroups: Int
        /// Size of the file in bytes.
        public var bytes: Int
        /// Rows whose value is null, per column name.
        public var nullCounts: [String: Int]
    }

    public let schema: ParquetSchema
    public let options: Options
    private let sink: any ParquetSink
    /// One box per column, so two threads can fill different columns at once (`appendRows`).
    private let columns: [ColumnSlot]
    /// Per column, copied out of the schema so the per-value checks touch no strings.
    private let kinds: [ParquetColumn.Kind]
    private let optionals: [Bool]
    private var offset: Int64 = 0
    private var rowsInGroup = 0
    private var totalRows = 0
    private var rowGroups: [RowGroupMetadata] = []
    private var scratch = PageScratch()
    /// The second thread's buffers in `flushRowGroup`.
    private var spareScratch = PageScratch()
    private var failed: ParquetError?
    private var closed = false

    public init(sink: some ParquetSink, schema: ParquetSchema, options: Options = Options()) throws {
        guard !schema.columns.isEmpty else { throw ParquetError("a Parquet schema needs at least one column") }
        guard Set(schema.columns.map(\.name)).count == schema.columns.count else {
            throw ParquetError("column names must be unique")
        }
        guard options.rowGroupRows > 0, options.pageBytes > 0 else {
            throw ParquetError("rowGroupRows and pageBytes must be positive")
        }
        self.sink = sink
        self.schema = schema
        self.options = options
        let limits = ColumnBuffer.Limits(
            dictionary: options.dictionary,
            dictionaryBytes: options.dictionaryPageBytes,
            dictionaryEntries: options.dictionaryMaxEntries,
            pageBytes: options.pageBytes,
            statisticsBytes: options.maxStatisticsBytes
        )
        columns = schema.columns.map { ColumnSlot(ColumnBuffer(column: $0, limits: limits)) }
        kinds = schema.columns.map(\.kind)
        optionals = schema.columns.map(\.optional)
        try emit(Array("PAR1".utf8))
    }

    /// Writes to a new local file at `path`.
    public convenience init(path: String, schema: ParquetSchema, options: Options = Options()) throws {
        try self.init(sink: ParquetFileSink(path: path), schema: schema, options: options)
    }

    // MARK: row building

    public func append(_ value: Int64?, to column: Int) throws(ParquetError) {
        let column = try target(column, .int64, isNull: value == nil)
        if let value {
            columns[column].buffer.pointee.append(value)
        } else {
            columns[column].buffer.pointee.appendNull()
        }
    }

    public func append(_ value: Bool?, to column: Int) throws(ParquetError) {
        let column = try target(column, .boolean, isNull: value == nil)
        if let value {
            columns[column].buffer.pointee.append(value)
        } else {
            columns[column].buffer.pointee.appendNull()
        }
    }

    public func append(_ value: String?, to column: Int) throws(ParquetError) {
        let column = try target(column, .string, isNull: value == nil)
        guard var value else { return columns[column].buffer.pointee.appendNull() }
        value.withUTF8 { columns[column].buffer.pointee.append(string: UnsafeRawBufferPointer($0)) }
    }

    /// Appends a string given as UTF-8 bytes (not validated).
    public func append(utf8 bytes: UnsafeRawBufferPointer?, to column: Int) throws(ParquetError) {
        let column = try target(column, .string, isNull: bytes == nil)
        if let bytes {
            columns[column].buffer.pointee.append(string: bytes)
        } else {
            columns[column].buffer.pointee.appendNull()
        }
    }

    /// Appends a list of strings; `[]` is an empty list, distinct from nil.
    public func append(_ value: [String]?, to column: Int) throws(ParquetError) {
        let column = try target(column, .stringList, isNull: value == nil)
        if let value {
            columns[column].buffer.pointee.append(list: value)
        } else {
            columns[column].buffer.pointee.appendNull()
        }
    }

    /// Appends a non-empty or empty list of strings given as `count` items PLAIN-encoded in `plain`
    /// (each a 4-byte little-endian length, then its UTF-8 bytes, not validated); nil for a null list.
    public func append(list plain: UnsafeRawBufferPointer?, count: Int, to column: Int) throws(ParquetError) {
        let column = try target(column, .stringList, isNull: plain == nil)
        guard let plain else { return columns[column].buffer.pointee.appendNull() }
        guard columns[column].buffer.pointee.append(list: plain, count: count) else {
            throw ParquetError("column \(schema.columns[column].name): a list's items do not match their count")
        }
    }

    public func appendNull(to column: Int) throws(ParquetError) {
        let column = try target(column, schema.columns[safe: column]?.kind ?? .int64, isNull: true)
        columns[column].buffer.pointee.appendNull()
    }

    /// Completes the row: every column must have received exactly one value since the last row.
    public func endRow() throws(ParquetError) {
        if let failed { throw failed }
        rowsInGroup += 1
        for index in columns.indices where columns[index].buffer.pointee.rows != rowsInGroup {
            let error = ParquetError(
                "row \(totalRows + rowsInGroup): column \(schema.columns[index].name) got \(columns[index].buffer.pointee.rows - rowsInGroup + 1) values, expected 1"
            )
            failed = error
            throw error
        }
        if rowsInGroup >= options.rowGroupRows || (rowsInGroup & 1023 == 0 && bufferedBytes >= options.rowGroupBytes) {
            try flushRowGroup()
        }
    }

    /// Appends `count` rows column by column, for a caller that holds a batch of rows: the columns in
    /// `second` form one group, the others another, and the two groups are filled at the same time on two
    /// threads. `fill` is called once per group with the rows to append (a part of `0..<count`, in order;
    /// a batch that reaches the end of a row group comes in two parts) and must append one value per row
    /// to each column of the group, and nothing to the others.
    public func appendRows(
        _ count: Int, secondGroup second: Set<Int>, _ fill: (ColumnGroup, Range<Int>) throws -> Void
    ) throws {
        if let failed { throw failed }
        let first = columns.indices.filter { !second.contains($0) }
        guard !first.isEmpty, first.count < columns.count, second.allSatisfy(columns.indices.contains) else {
            throw ParquetError("cannot split the columns into \(first) and \(second.sorted())")
        }
        let groups = [
            ColumnGroup(writer: self, columns: first), ColumnGroup(writer: self, columns: second.sorted()),
        ]
        var start = 0
        while start < count {
            let rows = start..<(start + min(count - start, options.rowGroupRows - rowsInGroup))
            let errors = GroupErrors()
            withoutActuallyEscaping(fill) { fill in
                let work = UncheckedSendable { (group: Int) in
                    do { try fill(groups[group], rows) } catch { errors.set(error, group: group) }
                }
                DispatchQueue.concurrentPerform(iterations: 2) { work.value($0) }
            }
            if let error = errors.first { throw error }
            for index in columns.indices where columns[index].buffer.pointee.rows != rowsInGroup + rows.count {
                let error = ParquetError(
                    "rows \(totalRows + rowsInGroup + 1)...\(totalRows + rowsInGroup + rows.count): column \(schema.columns[index].name) got \(columns[index].buffer.pointee.rows - rowsInGroup) values, expected \(rows.count)"
                )
                failed = error
                throw error
            }
            rowsInGroup += rows.count
            if rowsInGroup >= options.rowGroupRows || bufferedBytes >= options.rowGroupBytes { try flushRowGroup() }
            start = rows.upperBound
        }
    }

    /// Some of the columns, for filling them from one thread in `appendRows`.
    public struct ColumnGroup {
        fileprivate let writer: ParquetWriter
        /// The group's columns, in schema order.
        public let columns: [Int]
        /// Bit `n` set for column `n` of the group.
        private let mask: UInt64

        fileprivate init(writer: ParquetWriter, columns: [Int]) {
            self.writer = writer
            self.columns = columns
            mask = columns.reduce(0) { $1 < 64 ? $0 | 1 << UInt64($1) : $0 }
        }

        public func contains(_ column: Int) -> Bool {
            column < 64 ? column >= 0 && mask & 1 << UInt64(column) != 0 : columns.contains(column)
        }

        public func append(_ value: Int64?, to column: Int) throws(ParquetError) {
            try check(column)
            try writer.append(value, to: column)
        }

        public func append(_ value: Bool?, to column: Int) throws(ParquetError) {
            try check(column)
            try writer.append(value, to: column)
        }

        public func append(utf8 bytes: UnsafeRawBufferPointer?, to column: Int) throws(ParquetError) {
            try check(column)
            try writer.append(utf8: bytes, to: column)
        }

        public func append(list plain: UnsafeRawBufferPointer?, count: Int, to column: Int) throws(ParquetError) {
            try check(column)
            try writer.append(list: plain, count: count, to: column)
        }

        @inline(__always)
        private func check(_ column: Int) throws(ParquetError) {
            guard contains(column) else {
                throw ParquetError("column \(column) is not in this group (\(columns))")
            }
        }
    }

    /// Appends a whole row, one value per column in schema order.
    public func write(row: [ParquetValue]) throws(ParquetError) {
        guard row.count == columns.count else {
            throw ParquetError("row has \(row.count) values, the schema \(columns.count) columns")
        }
        for (index, value) in row.enumerated() {
            switch value {
            case .null: try appendNull(to: index)
            case .int64(let number): try append(number, to: index)
            case .bool(let flag): try append(flag, to: index)
            case .string(let text): try append(text, to: index)
            case .stringList(let items): try append(items, to: index)
            }
        }
        try endRow()
    }

    /// Writes the last row group and the footer, and closes the sink.
    @discardableResult
    public func close() throws -> FileSummary {
        if let failed { throw failed }
        guard !closed else { throw ParquetError("the writer is already closed") }
        closed = true
        if columns.contains(where: { $0.buffer.pointee.rows != rowsInGroup }) {
            throw ParquetError("close() called in the middle of a row; call endRow() first")
        }
        if rowsInGroup > 0 { try flushRowGroup() }
        var footer = FileMetadata(
            schema: schema, rows: Int64(totalRows), rowGroups: rowGroups,
            keyValues: options.metadata.sorted { $0.key < $1.key }
        ).encoded()
        let length = UInt32(footer.count)
        withUnsafeBytes(of: length.littleEndian) { footer.append(contentsOf: $0) }
        footer.append(contentsOf: Array("PAR1".utf8))
        try emit(footer)
        try sink.close()
        return FileSummary(
            rows: totalRows,
            rowGroups: rowGroups.count,
            bytes: Int(offset),
            nullCounts: Dictionary(
                uniqueKeysWithValues: columns.map { ($0.buffer.pointee.column.name, $0.buffer.pointee.nullRowsInFile) })
        )
    }

    // MARK: internals

    private var bufferedBytes: Int {
        columns.reduce(0) { $0 + $1.buffer.pointee.bufferedBytes }
    }

    @inline(__always)
    /// Checks that `column` exists and takes a value of `kind` (or null); returns it.
    private func target(_ column: Int, _ kind: ParquetColumn.Kind, isNull: Bool) throws(ParquetError) -> Int {
        guard column >= 0 && column < columns.count else {
            throw ParquetError("column index \(column) is out of range (the schema has \(columns.count) columns)")
        }
        guard kinds[column] == kind else {
            throw ParquetError("column \(schema.columns[column].name) is \(kinds[column]), not \(kind)")
        }
        guard !isNull || optionals[column] else {
            throw ParquetError(
                "column \(schema.columns[column].name) is required but got null in row \(totalRows + rowsInGroup + 1)")
        }
        return column
    }

    /// Encodes and compresses the row group's columns on two threads at once, each column into memory,
    /// then writes them in order with their offsets moved. The file is the same as if the columns had
    /// been written one after the other.
    private func flushRowGroup() throws(ParquetError) {
        let groupStart = offset
        var chunks: [ColumnChunkMetadata] = []
        do {
            let halves = balancedHalves()
            var encoded = [(chunk: ColumnChunkMetadata, pieces: [[UInt8]])?](repeating: nil, count: columns.count)
            var scratches = [scratch, spareScratch]
            let errors = GroupErrors()
            try encoded.withUnsafeMutableBufferPointer { encodedBuffer throws(ParquetError) in
                try scratches.withUnsafeMutableBufferPointer { scratchBuffer throws(ParquetError) in
                    // Each thread writes only its own columns' entries and its own scratch.
                    let (encoded, scratches) = (encodedBuffer, scratchBuffer)
                    let work = UncheckedSendable { [self] (half: Int) in
                        do {
                            for index in halves[half] {
                                // Piece by piece, each exactly its size: no slack from a growing array.
                                var pieces: [[UInt8]] = []
                                var relative: Int64 = 0
                                let chunk = try columns[index].buffer.pointee.writeChunk(
                                    codec: options.compression, level: options.compressionLevel, offset: &relative,
                                    scratch: &scratches[half]
                                ) { written in pieces.append(Array(written)) }
                                encoded[index] = (chunk, pieces)
                            }
                        } catch {
                            errors.set(error, group: half)
                        }
                    }
                    DispatchQueue.concurrentPerform(iterations: 2) { work.value($0) }
                    if let error = errors.first {
                        throw (error as? ParquetError) ?? ParquetError("cannot write row group: \(error)")
                    }
                }
            }
            scratch = scratches[0]
            spareScratch = scratches[1]
            for index in encoded.indices {
                guard var (chunk, pieces) = encoded[index] else { continue }
                encoded[index] = nil
                chunk.dataPageOffset += offset
                chunk.dictionaryPageOffset = chunk.dictionaryPageOffset.map { $0 + offset }
                chunks.append(chunk)
                for piece in pieces {
                    try piece.withUnsafeBytes { try sink.write($0) }
                    offset += Int64(piece.count)
                }
                pieces.removeAll()
            }
        } catch {
            let failure = (error as? ParquetError) ?? ParquetError("cannot write row group: \(error)")
            failed = failure
            throw failure
        }
        rowGroups.append(
            RowGroupMetadata(
                columns: chunks,
                rows: Int64(rowsInGroup),
                fileOffset: groupStart,
                ordinal: Int16(truncatingIfNeeded: rowGroups.count)
            ))
        totalRows += rowsInGroup
        rowsInGroup = 0
    }

    /// The columns in two sets of about the same encoding work, for `flushRowGroup`: the costliest
    /// first, each to the set with less so far. Compressing is most of the work, so the cost is what
    /// goes into the compressor (a list's dictionary indices are cheap, a column of unique ids is not).
    private func balancedHalves() -> [[Int]] {
        let costs = columns.map { $0.buffer.pointee.encodedBytesEstimate }
        var halves: [[Int]] = [[], []]
        var totals = [0, 0]
        for index in columns.indices.sorted(by: { costs[$0] > costs[$1] }) {
            let half = totals[0] <= totals[1] ? 0 : 1
            halves[half].append(index)
            totals[half] += costs[index]
        }
        return halves
    }

    private func emit(_ bytes: [UInt8]) throws(ParquetError) {
        do {
            try bytes.withUnsafeBytes { try sink.write($0) }
        } catch {
            let failure = (error as? ParquetError) ?? ParquetError("cannot write: \(error)")
            failed = failure
            throw failure
        }
        offset += Int64(bytes.count)
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? {
        indices.contains(index) ? self[index] : nil
    }
}

/// A column's buffer in a box of its own: two threads may fill two columns at once.
///
/// The buffer sits behind a pointer rather than in a stored `var`: every access to a class's stored
/// property is checked for exclusivity at run time, and an append per value made that a few percent
/// of a batch's time.
private final class ColumnSlot {
    let buffer: UnsafeMutablePointer<ColumnBuffer>

    init(_ buffer: ColumnBuffer) {
        self.buffer = .allocate(capacity: 1)
        self.buffer.initialize(to: buffer)
    }

    deinit {
        buffer.deinitialize(count: 1)
        buffer.deallocate()
    }
}

/// The errors of the two threads of `appendRows`: each thread sets only its own.
private final class GroupErrors: @unchecked Sendable {
    private var firstGroup: (any Error)?
    private var secondGroup: (any Error)?

    func set(_ error: any Error, group: Int) {
        if group == 0 { firstGroup = error } else { secondGroup = error }
    }

    var first: (any Error)? { firstGroup ?? secondGroup }
}

/// What `appendRows` hands to its two threads: each touches only its own columns, and the caller
/// waits for both.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
