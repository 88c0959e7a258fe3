import CSnappy
import CZlib
import CZstd

/// Block codecs for whole buffers, as Parquet compresses each page on its own.
///
/// `gzip` writes RFC 1952 gzip members (what Parquet's GZIP codec means) and reads both gzip and zlib
/// framing; `snappy` is the raw snappy block format; `zstd` writes one zstd frame.
public enum CompressionCodec: String, Sendable, CaseIterable {
    case none
    case snappy
    case gzip
    case zstd

    /// Compresses `input` and appends the result to `output`.
    /// `level` is codec-specific (gzip 1...9, default 6; zstd 1...22, default 3); snappy ignores it.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], level: Int? = nil)
        throws(CompressionError)
    {
        switch self {
        case .none:
            output.append(contentsOf: input)
        case .snappy:
            try Self.snappyCompress(input, appendingTo: &output)
        case .gzip:
            try Self.gzipCompress(input, appendingTo: &output, level: level ?? 6)
        case .zstd:
            try Self.zstdCompress(input, appendingTo: &output, level: level ?? 3)
        }
    }

    /// Compresses a byte array.
    public func compress(_ input: [UInt8], level: Int? = nil) throws(CompressionError) -> [UInt8] {
        var output: [UInt8] = []
        do {
            try input.withUnsafeBytes { try compress($0, appendingTo: &output, level: level) }
        } catch let error as CompressionError {
            throw error
        } catch {
            throw CompressionError("\(error)")
        }
        return output
    }

    /// Decompresses one block whose uncompressed size is known (Parquet stores it in the page header).
    public func decompress(_ input: UnsafeRawBufferPointer, uncompressedSize: Int) throws(CompressionError) -> [UInt8] {
        switch self {
        case .none:
            guard input.count == uncompressedSize else {
                throw CompressionError("uncompressed block has \(input.count) bytes, expected \(uncompressedSize)")
            }
            return Array(input)
        case .snappy:
            return try Self.snappyDecompress(input, uncompressedSize: uncompressedSize)
        case .gzip:
            return try Self.gzipDecompress(input, uncompressedSize: uncompressedSize)
        case .zstd:
            return try Self.zstdDecompress(input, uncompressedSize: uncompressedSize)
        }
    }

    /// Decompresses a byte array whose uncompressed size is known.
    public func decompress(_ input: [UInt8], uncompressedSize: Int) throws(CompressionError) -> [UInt8] {
        do {
            return try input.withUnsafeBytes { try decompress($0, uncompressedSize: uncompressedSize) }
        } catch let error as CompressionError {
            throw error
        } catch {
            throw CompressionError("\(error)")
        }
    }

    // MARK: snappy

    private static func snappyCompress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8])
        throws(CompressionError)
    {
        let bound = snappy_max_compressed_length(input.count)
        let start = output.count
        var length = bound
        let status = growAndFill(&output, start: start, capacity: bound) { out in
            snappy_compress(
                input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(emptyBuffer), input.count,
                out.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
        }
        guard status == SNAPPY_OK else {
            output.removeSubrange(start...)
            throw CompressionError("snappy compression failed (status \(status.rawValue))")
        }
        output.removeSubrange((start + length)...)
    }

    private static func snappyDecompress(_ input: UnsafeRawBufferPointer, uncompressedSize: Int)
        throws(CompressionError) -> [UInt8]
    {
        let source = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(emptyBuffer)
        var declared = 0
        guard snappy_uncompressed_length(source, input.count, &declared) == SNAPPY_OK, declared == uncompressedSize
        else {
            throw CompressionError("corrupt snappy block (bad length header)")
        }
        var output = [UInt8](repeating: 0, count: uncompressedSize)
        var length = uncompressedSize
        let status = output.withUnsafeMutableBytes { out in
            snappy_uncompress(
                source, input.count, out.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? emptyBuffer,
                &length)
        }
        guard status == SNAPPY_OK, length == uncompressedSize else {
            throw CompressionError("corrupt snappy block")
        }
        return output
    }

    // MARK: gzip

    private static func gzipCompress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], level: Int)
        throws(CompressionError)
    {
        var stream = z_stream()
        // 15 + 16: gzip framing with the largest window.
        guard CZlib_deflateInit2(&stream, Int32(level), Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK
        else {
            throw CompressionError("gzip: cannot initialise deflate (level \(level))")
        }
        defer { deflateEnd(&stream) }
        guard input.count <= Int(UInt32.max) / 2 else { throw CompressionError("gzip: block too large") }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        let start = output.count
        var produced = 0
        let result = growAndFill(&output, start: start, capacity: bound) { out in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            stream.avail_out = uInt(out.count)
            let status = deflate(&stream, Z_FINISH)
            produced = out.count - Int(stream.avail_out)
            return status
        }
        guard result == Z_STREAM_END else {
            output.removeSubrange(start...)
            throw CompressionError("gzip: deflate failed (\(result))")
        }
        output.removeSubrange((start + produced)...)
    }

    private static func gzipDecompress(_ input: UnsafeRawBufferPointer, uncompressedSize: Int) throws(CompressionError)
        -> [UInt8]
    {
        var stream = z_stream()
        // 15 + 32: accept both gzip and zlib framing.
        guard CZlib_inflateInit2(&stream, MAX_WBITS + 32) == Z_OK else {
            throw CompressionError("gzip: cannot initialise inflate")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: uncompressedSize)
        var spare = 0
        let status = output.withUnsafeMutableBytes { out in
            var one: UInt8 = 0
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = uInt(input.count)
            return withUnsafeMutablePointer(to: &one) { scratch in
                stream.next_out = out.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? scratch
                stream.avail_out = uInt(out.count)
                let status = inflate(&stream, Z_FINISH)
                spare = Int(stream.avail_out)
                return status
            }
        }
        guard status == Z_STREAM_END, spare == 0 else {
            throw CompressionError("corrupt gzip block" + (stream.msg.map { ": " + String(cString: $0) } ?? ""))
        }
        return output
    }

    // MARK: zstd

    private static func zstdCompress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], level: Int)
        throws(CompressionError)
    {
        try zstdCompress(input, appendingTo: &output, level: level, context: nil)
    }

    /// With a `context`, zstd reuses its tables instead of allocating and clearing new ones for every
    /// block; the output is the same.
    fileprivate static func zstdCompress(
        _ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], level: Int, context: OpaquePointer?
    ) throws(CompressionError) {
        let bound = ZSTD_compressBound(input.count)
        let start = output.count
        let written = growAndFill(&output, start: start, capacity: bound) { out in
            if let context {
                ZSTD_compressCCtx(context, out.baseAddress, out.count, input.baseAddress, input.count, Int32(level))
            } else {
                ZSTD_compress(out.baseAddress, out.count, input.baseAddress, input.count, Int32(level))
            }
        }
        if ZSTD_isError(written) != 0 {
            output.removeSubrange(start...)
            throw CompressionError("zstd: " + String(cString: ZSTD_getErrorName(written)))
        }
        output.removeSubrange((start + written)...)
    }

    private static func zstdDecompress(_ input: UnsafeRawBufferPointer, uncompressedSize: Int) throws(CompressionError)
        -> [UInt8]
    {
        var output = [UInt8](repeating: 0, count: uncompressedSize)
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_decompress(
                out.baseAddress ?? UnsafeMutableRawPointer(emptyBuffer), out.count, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            throw CompressionError("corrupt zstd block: " + String(cString: ZSTD_getErrorName(written)))
        }
        guard written == uncompressedSize else {
            throw CompressionError("zstd block has \(written) bytes, expected \(uncompressedSize)")
        }
        return output
    }

    // MARK: helpers

    /// Grows `buffer` by `capacity` bytes past `start` and lets `fill` write into that space;
    /// the caller trims the unused tail.
    private static func growAndFill<R>(
        _ buffer: inout [UInt8], start: Int, capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) -> R
    ) -> R {
        buffer.append(contentsOf: repeatElement(0, count: max(capacity, 1)))
        return buffer.withUnsafeMutableBytes { all in
            fill(UnsafeMutableRawBufferPointer(rebasing: all[start...]))
        }
    }
}

/// A valid pointer for empty buffers: the C libraries reject NULL even for zero lengths.
nonisolated(unsafe) private let emptyBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 16)

/// Compresses blocks one after the other with one zstd context, for a caller that compresses many
/// (Parquet pages): `CompressionCodec.zstd.compress` gives the same bytes but sets up zstd each time.
/// Not for two threads at once.
public final class ZstdBlockCompressor {
    private let context: OpaquePointer

    public init() throws(CompressionError) {
        guard let context = ZSTD_createCCtx() else { throw CompressionError("zstd: out of memory") }
        self.context = context
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` as one zstd frame and appends it to `output`; `level` 1...22, default 3.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8], level: Int? = nil)
        throws(CompressionError)
    {
        try CompressionCodec.zstdCompress(input, appendingTo: &output, level: level ?? 3, context: context)
    }
}
