/// What the footer records about one column chunk (Thrift `ColumnChunk` + `ColumnMetaData`).
struct ColumnChunkMetadata {
    struct Statistics {
        var min: [UInt8]?
        var max: [UInt8]?
        var nullCount: Int64
        /// Whether the deprecated `min`/`max` fields (signed order) may repeat `min_value`/`max_value`.
        var legacyOrderMatches: Bool
    }

    struct PageCount {
        var pageType: Int32
        var encoding: Int32
        var count: Int32
    }

    var physicalType: Int32
    var encodings: [Int32]
    var path: [String]
    var codec: Int32
    var numValues: Int64
    var totalUncompressedSize: Int64
    var totalCompressedSize: Int64
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
    var statistics: Statistics
    var pageCounts: [PageCount]

    /// Where the chunk starts: the dictionary page if any, else the first data page.
    var startOffset: Int64 { dictionaryPageOffset ?? dataPageOffset }

    func encode(into thrift: inout ThriftCompactWriter) {
        thrift.i64(2, startOffset)
        thrift.structField(3) { meta in
            meta.i32(1, physicalType)
            meta.listOfI32(2, encodings)
            meta.listOfStrings(3, path)
            meta.i32(4, codec)
            meta.i64(5, numValues)
            meta.i64(6, totalUncompressedSize)
            meta.i64(7, totalCompressedSize)
            meta.i64(9, dataPageOffset)
            if let dictionaryPageOffset { meta.i64(11, dictionaryPageOffset) }
            meta.structField(12) { stats in
                if statistics.legacyOrderMatches, let min = statistics.min, let max = statistics.max {
                    stats.binary(1, max)
                    stats.binary(2, min)
                }
                stats.i64(3, statistics.nullCount)
                if let min = statistics.min, let max = statistics.max {
                    stats.binary(5, max)
                    stats.binary(6, min)
                }
            }
            meta.listOfStructs(13, pageCounts) { entry, page in
                entry.i32(1, page.pageType)
                entry.i32(2, page.encoding)
                entry.i32(3, page.count)
            }
        }
    }
}

/// Thrift enum values from parquet.thrift.
enum ParquetThrift {
    enum PhysicalType {
        static let boolean: Int32 = 0
        static let int64: Int32 = 2
        static let byteArray: Int32 = 6
    }

    enum Encoding {
        static let plain: Int32 = 0
        static let rle: Int32 = 3
        static let rleDictionary: Int32 = 8
    }

    enum PageType {
        static let data: Int32 = 0
        static let dictionary: Int32 = 2
    }

    enum Repetition {
        static let required: Int32 = 0
        static let optional: Int32 = 1
        static let repeated: Int32 = 2
    }

    enum ConvertedType {
        static let utf8: Int32 = 0
        static let list: Int32 = 3
    }
}
