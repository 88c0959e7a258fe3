import PinCompression

/// The values and levels of one leaf column for the row group being built, and how to write them out as a
/// column chunk (an optional dictionary page, then data pages v1).
///
/// Strings go into a dictionary until it grows past its limits; then the chunk falls back to PLAIN for the
/// rest of the row group (the next row group tries the dictionary again).
struct ColumnBuffer {
    struct Limits {
        var dictionary: Bool
        var dictionaryBytes: Int
        var dictionaryEntries: Int
        var pageBytes: Int
        var statisticsBytes: Int
    }

    let column: ParquetColumn
    private let limits: Limits
    private let maxDefinition: UInt8
    private let maxRepetition: UInt8

    private var definitions: [UInt8] = []
    private var repetitions: [UInt8] = []
    private var levelCount = 0
    /// Level entries without a value: the chunk's null_count.
    private var nullLevels = 0
    private(set) var rows = 0
    /// Rows whose top-level value is null, over the whole file.
    private(set) var nullRowsInFile = 0

    private var ints: [Int64] = []
    private var intMin = Int64.max
    private var intMax = Int64.min

    private var bools: [UInt8] = []

    private var usingDictionary: Bool
    private var dictionary = StringDictionary()
    private var indices: [UInt32] = []
    /// PLAIN-encoded strings once the dictionary is abandoned.
    private var plain: [UInt8] = []
    /// The PLAIN size of every string in the row group, to judge whether the dictionary pays.
    private var plainSize = 0
    private var stringMin: [UInt8]?
    private var stringMax: [UInt8]?

    init(column: ParquetColumn, limits: Limits) {
        self.column = column
        self.limits = limits
        maxDefinition = UInt8(column.maxDefinitionLevel)
        maxRepetition = UInt8(column.maxRepetitionLevel)
        usingDictionary = limits.dictionary
    }

    /// Rough bytes held, to flush row groups by size.
    var bufferedBytes: Int {
        definitions.count + repetitions.count + ints.count * 8 + bools.count + indices.count * 4 + plain.count
            + dictionary.page.count
    }

    /// About how many bytes the chunk's pages will hold before compression, to share out the encoding work.
    var encodedBytesEstimate: Int {
        var values = ints.count * 8 + bools.count / 8 + plain.count
        if usingDictionary {
            let width = max(1, RLEHybridEncoder.bitWidth(dictionary.count - 1))
            values += min(plainSize, dictionary.page.count + (indices.count * width + 7) / 8)
        }
        return values + (definitions.count + repetitions.count) / 8
    }

    // MARK: appending

    mutating func appendNull() {
        if maxDefinition > 0 { definitions.append(0) }
        if maxRepetition > 0 { repetitions.append(0) }
        levelCount += 1
        nullLevels += 1
        nullRowsInFile += 1
        rows += 1
    }

    @inline(__always)
    private mutating func appendPresentLevel() {
        if maxDefinition > 0 { definitions.append(maxDefinition) }
        levelCount += 1
        rows += 1
    }

    mutating func append(_ value: Int64) {
        appendPresentLevel()
        ints.append(value)
        if value < intMin { intMin = value }
        if value > intMax { intMax = value }
    }

    mutating func append(_ value: Bool) {
        appendPresentLevel()
        bools.append(value ? 1 : 0)
    }

    mutating func append(string bytes: UnsafeRawBufferPointer) {
        appendPresentLevel()
        addString(bytes)
    }

    /// A list row: levels for each element, or one level marking the empty list.
    mutating func append(list: [String]) {
        rows += 1
        if list.isEmpty {
            definitions.append(maxDefinition - 2)
            repetitions.append(0)
            levelCount += 1
            nullLevels += 1
            return
        }
        var first = true
        for var element in list {
            definitions.append(maxDefinition)
            repetitions.append(first ? 0 : 1)
            first = false
            levelCount += 1
            element.withUTF8 { addString(UnsafeRawBufferPointer($0)) }
        }
    }

    /// A list row from `count` PLAIN-encoded items; false (and nothing appended) when they do not add up.
    mutating func append(list plain: UnsafeRawBufferPointer, count: Int) -> Bool {
        var offset = 0
        for _ in 0..<count {
            guard offset + 4 <= plain.count else { return false }
            offset += 4 + Int(UInt32(littleEndian: plain.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        guard offset == plain.count else { return false }
        rows += 1
        if count == 0 {
            definitions.append(maxDefinition - 2)
            repetitions.append(0)
            levelCount += 1
            nullLevels += 1
            return true
        }
        // The levels of all items at once: a few appends a row rather than two an item.
        definitions.append(contentsOf: repeatElement(maxDefinition, count: count))
        repetitions.append(0)
        repetitions.append(contentsOf: repeatElement(1, count: count - 1))
        levelCount += count
        offset = 0
        for _ in 0..<count {
            let length = Int(UInt32(littleEndian: plain.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            addString(UnsafeRawBufferPointer(rebasing: plain[(offset + 4)..<(offset + 4 + length)]))
            offset += 4 + length
        }
        return true
    }

    @inline(__always)
    private mutating func addString(_ bytes: UnsafeRawBufferPointer) {
        plainSize += 4 + bytes.count
        // The dictionary addresses its page with 32 bits.
        if usingDictionary && dictionary.page.count + 4 + bytes.count > Int(UInt32.max) { fallBackToPlain() }
        if usingDictionary {
            indices.append(UInt32(truncatingIfNeeded: dictionary.index(of: bytes)))
            if dictionary.page.count > limits.dictionaryBytes || dictionary.count > limits.dictionaryEntries {
                fallBackToPlain()
            }
        } else {
            appendPlain(bytes)
            noteMinMax(bytes)
        }
    }

    @inline(__always)
    private mutating func appendPlain(_ bytes: UnsafeRawBufferPointer) {
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { plain.append(contentsOf: $0) }
        plain.append(contentsOf: bytes)
    }

    @inline(__always)
    private mutating func noteMinMax(_ bytes: UnsafeRawBufferPointer) {
        if let low = stringMin {
            if low.withUnsafeBytes({ ByteOrder.less(bytes, $0) }) { stringMin = Array(bytes) }
        } else {
            stringMin = Array(bytes)
        }
        if let high = stringMax {
            if high.withUnsafeBytes({ ByteOrder.less($0, bytes) }) { stringMax = Array(bytes) }
        } else {
            stringMax = Array(bytes)
        }
    }

    /// Rewrites the dictionary-coded values as PLAIN and stops using the dictionary for this row group.
    private mutating func fallBackToPlain() {
        plain.reserveCapacity(max(plainSize, 1 << 16))
        let entries = dictionary
        for index in indices {
            entries.withEntry(Int(index)) { appendPlain($0) }
        }
        if let (low, high) = entries.minMaxIndices() {
            entries.withEntry(low) { noteMinMax($0) }
            entries.withEntry(high) { noteMinMax($0) }
        }
        indices.removeAll()
        dictionary = StringDictionary()
        usingDictionary = false
    }

    // MARK: writing

    /// Encodes and writes the buffered values as one column chunk starting at `offset`, then empties the buffer.
    mutating func writeChunk(
        codec: CompressionCodec,
        level: Int?,
        offset: inout Int64,
        scratch: inout PageScratch,
        write: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) throws -> ColumnChunkMetadata {
        if usingDictionary {
            let width = max(1, RLEHybridEncoder.bitWidth(dictionary.count - 1))
            let encoded = dictionary.page.count + (indices.count * width + 7) / 8
            if encoded >= plainSize { fallBackToPlain() }
        }
        var metadata = ColumnChunkMetadata(
            physicalType: physicalType,
            encodings: [],
            path: column.leafPath,
            codec: Self.thriftCodec(codec),
            numValues: Int64(levelCount),
            totalUncompressedSize: 0,
            totalCompressedSize: 0,
            dataPageOffset: 0,
            dictionaryPageOffset: nil,
            statistics: statistics(),
            pageCounts: []
        )
        var pages = PageWriter(codec: codec, level: level, offset: offset, scratch: scratch, write: write)
        let valueEncoding = usingDictionary ? ParquetThrift.Encoding.rleDictionary : ParquetThrift.Encoding.plain
        if usingDictionary {
            metadata.dictionaryPageOffset = pages.offset
            let entries = dictionary
            try entries.page.withUnsafeBytes { page in
                try pages.writeDictionaryPage(page, count: entries.count)
            }
            metadata.pageCounts.append(
                .init(pageType: ParquetThrift.PageType.dictionary, encoding: ParquetThrift.Encoding.plain, count: 1))
        }
        metadata.dataPageOffset = pages.offset
        let dataPages = try writeDataPages(&pages, encoding: valueEncoding)
        metadata.pageCounts.append(
            .init(pageType: ParquetThrift.PageType.data, encoding: valueEncoding, count: Int32(dataPages)))
        metadata.encodings =
            usingDictionary
            ? [ParquetThrift.Encoding.plain, ParquetThrift.Encoding.rle, ParquetThrift.Encoding.rleDictionary]
            : [ParquetThrift.Encoding.plain, ParquetThrift.Encoding.rle]
        metadata.totalCompressedSize = pages.compressedBytes
        metadata.totalUncompressedSize = pages.uncompressedBytes
        offset = pages.offset
        scratch = pages.scratch
        reset()
        return metadata
    }

    private var physicalType: Int32 {
        switch column.kind {
        case .int64: ParquetThrift.PhysicalType.int64
        case .boolean: ParquetThrift.PhysicalType.boolean
        case .string, .stringList: ParquetThrift.PhysicalType.byteArray
        }
    }

    private static func thriftCodec(_ codec: CompressionCodec) -> Int32 {
        switch codec {
        case .none: 0
        case .snappy: 1
        case .gzip: 2
        case .zstd: 6
        }
    }

    private func statistics() -> ColumnChunkMetadata.Statistics {
        var result = ColumnChunkMetadata.Statistics(
            min: nil, max: nil, nullCount: Int64(nullLevels), legacyOrderMatches: false)
        switch column.kind {
        case .int64:
            if !ints.isEmpty {
                result.min = withUnsafeBytes(of: intMin.littleEndian) { Array($0) }
                result.max = withUnsafeBytes(of: intMax.littleEndian) { Array($0) }
                result.legacyOrderMatches = true
            }
        case .boolean:
            if !bools.isEmpty {
                result.min = [bools.contains(0) ? 0 : 1]
                result.max = [bools.contains(1) ? 1 : 0]
                result.legacyOrderMatches = true
            }
        case .string, .stringList:
            // The deprecated fields were compared as signed bytes by old writers, so they stay unset for strings.
            if usingDictionary, let (low, high) = dictionary.minMaxIndices() {
                result.min = dictionary.withEntry(low) { Array($0) }
                result.max = dictionary.withEntry(high) { Array($0) }
            } else {
                result.min = stringMin
                result.max = stringMax
            }
            if (result.min?.count ?? 0) > limits.statisticsBytes || (result.max?.count ?? 0) > limits.statisticsBytes {
                result.min = nil
                result.max = nil
            }
        }
        return result
    }

    /// Splits the levels into pages of about `pageBytes` of values, cutting only at row starts.
    private func writeDataPages(_ pages: inout PageWriter, encoding: Int32) throws -> Int {
        let hasDefinitions = maxDefinition > 0
        let hasRepetitions = maxRepetition > 0
        var levelStart = 0
        var valueStart = 0
        var byteStart = 0
        var pageCount = 0
        repeat {
            var levelEnd = levelStart
            var valueEnd = valueStart
            var byteEnd = byteStart
            var size = 0
            while levelEnd < levelCount {
                let present = !hasDefinitions || definitions[levelEnd] == maxDefinition
                levelEnd += 1
                if present {
                    valueEnd += 1
                    switch column.kind {
                    case .int64:
                        size += 8
                    case .boolean:
                        size += 1
                    case .string, .stringList:
                        if usingDictionary {
                            size += 2
                        } else {
                            let length = plain.withUnsafeBytes {
                                Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: byteEnd, as: UInt32.self)))
                            }
                            byteEnd += 4 + length
                            size += 4 + length
                        }
                    }
                }
                if size >= limits.pageBytes && (!hasRepetitions || levelEnd == levelCount || repetitions[levelEnd] == 0)
                {
                    break
                }
            }
            try encodePage(
                &pages.scratch.body, levels: levelStart..<levelEnd, values: valueStart..<valueEnd,
                bytes: byteStart..<byteEnd)
            try pages.writeDataPage(valueCount: levelEnd - levelStart, encoding: encoding)
            pageCount += 1
            levelStart = levelEnd
            valueStart = valueEnd
            byteStart = byteEnd
        } while levelStart < levelCount
        return pageCount
    }

    private func encodePage(_ body: inout [UInt8], levels: Range<Int>, values: Range<Int>, bytes: Range<Int>) throws {
        body.removeAll(keepingCapacity: true)
        if maxRepetition > 0 {
            Self.appendLevels(repetitions, levels, maxLevel: maxRepetition, into: &body)
        }
        if maxDefinition > 0 {
            Self.appendLevels(definitions, levels, maxLevel: maxDefinition, into: &body)
        }
        switch column.kind {
        case .int64:
            ints.withUnsafeBytes { all in
                body.append(
                    contentsOf: UnsafeRawBufferPointer(rebasing: all[(values.lowerBound * 8)..<(values.upperBound * 8)])
                )
            }
        case .boolean:
            bools.withUnsafeBufferPointer { all in
                RLEHybridEncoder.packBits(UnsafeBufferPointer(rebasing: all[values]), into: &body)
            }
        case .string, .stringList:
            if usingDictionary {
                let width = max(1, RLEHybridEncoder.bitWidth(dictionary.count - 1))
                body.append(UInt8(width))
                indices.withUnsafeBufferPointer { all in
                    RLEHybridEncoder.encode(UnsafeBufferPointer(rebasing: all[values]), bitWidth: width, into: &body)
                }
            } else {
                plain.withUnsafeBytes { all in body.append(contentsOf: UnsafeRawBufferPointer(rebasing: all[bytes])) }
            }
        }
        guard body.count < Int(Int32.max) else {
            throw ParquetError("column \(column.name): a page exceeds 2 GiB")
        }
    }

    /// Levels in a v1 data page: a 4-byte little-endian length, then the RLE/bit-packed hybrid run.
    private static func appendLevels(_ levels: [UInt8], _ range: Range<Int>, maxLevel: UInt8, into body: inout [UInt8])
    {
        let lengthAt = body.count
        body.append(contentsOf: [0, 0, 0, 0])
        levels.withUnsafeBufferPointer { all in
            RLEHybridEncoder.encode(
                UnsafeBufferPointer(rebasing: all[range]), bitWidth: RLEHybridEncoder.bitWidth(Int(maxLevel)),
                into: &body)
        }
        let length = UInt32(body.count - lengthAt - 4)
        for index in 0..<4 { body[lengthAt + index] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(index))) }
    }

    private mutating func reset() {
        definitions.removeAll(keepingCapacity: true)
        repetitions.removeAll(keepingCapacity: true)
        levelCount = 0
        nullLevels = 0
        rows = 0
        ints.removeAll(keepingCapacity: true)
        intMin = .max
        intMax = .min
        bools.removeAll(keepingCapacity: true)
        usingDictionary = limits.dictionary
        dictionary = StringDictionary()
        indices.removeAll(keepingCapacity: true)
        plain.removeAll(keepingCapacity: true)
        plainSize = 0
        stringMin = nil
        stringMax = nil
    }
}
