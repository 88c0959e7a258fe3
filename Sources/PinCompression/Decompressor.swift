import CZlib
import CZstd

/// Incremental decompression of a gzip or zstd stream read in chunks of any size.
///
/// Concatenated gzip members and multiple zstd frames decode as one stream, as `gzip -d` and `zstd -d` do.
/// `finish()` reports a stream that ends inside a member or frame.
public final class Decompressor {
    public let format: StreamFormat
    private var zlib: UnsafeMutablePointer<z_stream>?
    private var zstd: OpaquePointer?
    /// True while a member or frame has started but not ended.
    private var inMember = false
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Compressor.scratchSize, alignment: 8)

    public init(format: StreamFormat) throws(CompressionError) {
        self.format = format
        switch format {
        case .none:
            break
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 16 + MAX_WBITS: gzip framing only.
            guard CZlib_inflateInit2(stream, MAX_WBITS + 16) == Z_OK else {
                stream.deallocate()
                throw CompressionError("gzip: cannot initialise inflate")
            }
            zlib = stream
        case .zstd:
            guard let context = ZSTD_createDCtx() else {
                throw CompressionError("zstd: out of memory")
            }
            zstd = context
        }
    }

    deinit {
        if let zlib {
            inflateEnd(zlib)
            zlib.deallocate()
        }
        if let zstd { ZSTD_freeDCtx(zstd) }
        scratch.deallocate()
    }

    /// Decompresses `chunk`, appending the output it yields to `output`.
    public func decompress(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(CompressionError) {
        switch format {
        case .none:
            output.append(contentsOf: chunk)
        case .gzip:
            try inflateChunk(chunk, into: &output)
        case .zstd:
            try zstdChunk(chunk, into: &output)
        }
    }

    /// Decompresses a byte array, appending output to `output`.
    public func decompress(_ chunk: [UInt8], into output: inout [UInt8]) throws(CompressionError) {
        try Compressor.withBytes(chunk) { (bytes) throws(CompressionError) in try decompress(bytes, into: &output) }
    }

    /// Checks that the input ended at a member or frame boundary.
    public func finish() throws(CompressionError) {
        if inMember {
            throw CompressionError(
                "\(format.rawValue): truncated input (stream ends inside a \(format == .gzip ? "member" : "frame"))")
        }
    }

    /// Decompresses a whole stream in one call.
    public static func decompress(_ data: [UInt8], format: StreamFormat) throws(CompressionError) -> [UInt8] {
        let decompressor = try Decompressor(format: format)
        var output: [UInt8] = []
        try decompressor.decompress(data, into: &output)
        try decompressor.finish()
        return output
    }

    private func inflateChunk(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(CompressionError) {
        guard let stream = zlib else { return }
        var remaining = input
        while !remaining.isEmpty {
            let slice = UnsafeRawBufferPointer(rebasing: remaining.prefix(1 << 30))
            remaining = UnsafeRawBufferPointer(rebasing: remaining.dropFirst(slice.count))
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: slice.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.pointee.avail_in = uInt(slice.count)
            while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0 {
                inMember = true
                let status = Compressor.withScratch(scratch, into: &output) { out in
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    stream.pointee.avail_out = uInt(out.count)
                    let status = inflate(stream, Z_NO_FLUSH)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                switch status {
                case Z_STREAM_END:
                    // A member ended; another may follow (concatenated gzip).
                    inMember = false
                    inflateReset(stream)
                    stream.pointee.avail_out = 1
                case Z_OK:
                    break
                case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                    break
                default:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw CompressionError("corrupt gzip data: \(reason)")
                }
            }
        }
    }

    private func zstdChunk(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(CompressionError) {
        guard let context = zstd, !input.isEmpty else { return }
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var full = true
        while source.pos < source.size || full {
            var hint = 0
            try Compressor.withScratch(scratch, into: &output) { (out) throws(CompressionError) -> Int in
                var target = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                hint = ZSTD_decompressStream(context, &target, &source)
                if ZSTD_isError(hint) != 0 {
                    throw CompressionError("corrupt zstd data: " + String(cString: ZSTD_getErrorName(hint)))
                }
                full = target.pos == target.size
                return target.pos
            }
            // 0 means a frame is complete and flushed; the next byte starts a new frame.
            inMember = hint != 0
        }
    }
}
