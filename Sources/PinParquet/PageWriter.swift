import PinCompression

/// Reusable buffers for page bodies, so encoding a page allocates nothing once they have grown.
struct PageScratch {
    var body: [UInt8] = []
    var compressed: [UInt8] = []
    /// zstd's tables, kept from page to page (each thread has its own scratch).
    var zstd: ZstdBlockCompressor?
}

/// Compresses page bodies, writes each header and body, and keeps the chunk's offsets and sizes.
struct PageWriter {
    let codec: CompressionCodec
    let level: Int?
    private(set) var offset: Int64
    var scratch: PageScratch
    let write: (UnsafeRawBufferPointer) throws -> Void
    private(set) var compressedBytes: Int64 = 0
    private(set) var uncompressedBytes: Int64 = 0

    init(
        codec: CompressionCodec, level: Int?, offset: Int64, scratch: PageScratch,
        write: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) {
        self.codec = codec
        self.level = level
        self.offset = offset
        self.scratch = scratch
        self.write = write
    }

    mutating func writeDictionaryPage(_ page: UnsafeRawBufferPointer, count: Int) throws {
        try writePage(page, pageType: ParquetThrift.PageType.dictionary) { header in
            header.structField(7) { dictionary in
                dictionary.i32(1, Int32(count))
                dictionary.i32(2, ParquetThrift.Encoding.plain)
            }
        }
    }

    /// Writes `scratch.body` as a v1 data page.
    mutating func writeDataPage(valueCount: Int, encoding: Int32) throws {
        let body = scratch.body
        try body.withUnsafeBytes { bytes in
            try writePage(bytes, pageType: ParquetThrift.PageType.data) { header in
                header.structField(5) { data in
                    data.i32(1, Int32(valueCount))
                    data.i32(2, encoding)
                    data.i32(3, ParquetThrift.Encoding.rle)
                    data.i32(4, ParquetThrift.Encoding.rle)
                }
            }
        }
    }

    private mutating func writePage(
        _ body: UnsafeRawBufferPointer, pageType: Int32, _ specific: (inout ThriftCompactWriter) -> Void
    ) throws {
        guard body.count < Int(Int32.max) else { throw ParquetError("a page exceeds 2 GiB") }
        var compressedCount = body.count
        if codec != .none {
            scratch.compressed.removeAll(keepingCapacity: true)
            if codec == .zstd {
                if scratch.zstd == nil { scratch.zstd = try ZstdBlockCompressor() }
                try scratch.zstd!.compress(body, appendingTo: &scratch.compressed, level: level)
            } else {
                try codec.compress(body, appendingTo: &scratch.compressed, level: level)
            }
            compressedCount = scratch.compressed.count
        }
        var header = ThriftCompactWriter()
        header.i32(1, pageType)
        header.i32(2, Int32(body.count))
        header.i32(3, Int32(compressedCount))
        specific(&header)
        header.finish()
        try header.bytes.withUnsafeBytes { try write($0) }
        if codec == .none {
            try write(body)
        } else {
            try scratch.compressed.withUnsafeBytes { try write($0) }
        }
        let headerBytes = Int64(header.bytes.count)
        offset += headerBytes + Int64(compressedCount)
        compressedBytes += headerBytes + Int64(compressedCount)
        uncompressedBytes += headerBytes + Int64(body.count)
    }
}
