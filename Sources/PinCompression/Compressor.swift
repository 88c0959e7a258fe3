import CZlib
import CZstd

/// Incremental compression of a byte stream to gzip or zstd: feed chunks, then finish once.
/// Output is appended to the caller's buffer so a writer can upload or write it as it grows.
public final class Compressor {
    public let format: StreamFormat
    private var zlib: UnsafeMutablePointer<z_stream>?
    private var zstd: OpaquePointer?
    private var finished = false
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Compressor.scratchSize, alignment: 8)

    /// `level`: gzip 1...9 (default 6), zstd 1...19 (default 3).
    public init(format: StreamFormat, level: Int? = nil) throws(CompressionError) {
        self.format = format
        switch format {
        case .none:
            break
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            let level = level ?? 6
            guard CZlib_deflateInit2(stream, Int32(level), Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK
            else {
                stream.deallocate()
                throw CompressionError("gzip: cannot initialise deflate (level \(level))")
            }
            zlib = stream
        case .zstd:
            guard let context = ZSTD_createCCtx() else {
                throw CompressionError("zstd: out of memory")
            }
            let level = level ?? 3
            let status = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
            if ZSTD_isError(status) != 0 {
                ZSTD_freeCCtx(context)
                throw CompressionError("zstd: bad compression level \(level)")
            }
            zstd = context
        }
    }

    deinit {
        if let zlib {
            deflateEnd(zlib)
            zlib.deallocate()
        }
        if let zstd { ZSTD_freeCCtx(zstd) }
        scratch.deallocate()
    }

    /// Compresses `chunk`, appending whatever output is ready to `output`.
    public func compress(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(CompressionError) {
        guard !finished else { throw CompressionError("compressor already finished") }
        try run(chunk, finish: false, into: &output)
    }

    /// Compresses a byte array, appending output to `output`.
    public func compress(_ chunk: [UInt8], into output: inout [UInt8]) throws(CompressionError) {
        try Self.withBytes(chunk) { (bytes) throws(CompressionError) in try compress(bytes, into: &output) }
    }

    /// Ends the stream, appending the remaining output and trailer to `output`.
    public func finish(into output: inout [UInt8]) throws(CompressionError) {
        guard !finished else { throw CompressionError("compressor already finished") }
        finished = true
        try run(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, into: &output)
    }

    /// Compresses a whole buffer in one call (a complete gzip member or zstd frame).
    public static func compress(_ data: [UInt8], format: StreamFormat, level: Int? = nil) throws(CompressionError)
        -> [UInt8]
    {
        let compressor = try Compressor(format: format, level: level)
        var output: [UInt8] = []
        try compressor.compress(data, into: &output)
        try compressor.finish(into: &output)
        return output
    }

    private func run(_ input: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8]) throws(CompressionError)
    {
        switch format {
        case .none:
            output.append(contentsOf: input)
        case .gzip:
            try deflateChunk(input, finish: finish, into: &output)
        case .zstd:
            try zstdChunk(input, finish: finish, into: &output)
        }
    }

    private func deflateChunk(_ input: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8])
        throws(CompressionError)
    {
        guard let stream = zlib else { return }
        var remaining = input
        repeat {
            // avail_in is 32-bit: feed large chunks in slices.
            let slice = UnsafeRawBufferPointer(rebasing: remaining.prefix(1 << 30))
            remaining = UnsafeRawBufferPointer(rebasing: remaining.dropFirst(slice.count))
            let last = finish && remaining.isEmpty
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: slice.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.pointee.avail_in = uInt(slice.count)
            while true {
                let status = Self.withScratch(scratch, into: &output) { out in
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    stream.pointee.avail_out = uInt(out.count)
                    let status = deflate(stream, last ? Z_FINISH : Z_NO_FLUSH)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                if status == Z_STREAM_END { break }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw CompressionError("gzip: deflate failed (\(status))")
                }
                if !last && stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { break }
            }
        } while !remaining.isEmpty
    }

    private func zstdChunk(_ input: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8])
        throws(CompressionError)
    {
        guard let context = zstd else { return }
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var pending = 0
            try Self.withScratch(scratch, into: &output) { (out) throws(CompressionError) -> Int in
                var target = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                pending = ZSTD_compressStream2(context, &target, &source, finish ? ZSTD_e_end : ZSTD_e_continue)
                if ZSTD_isError(pending) != 0 {
                    throw CompressionError("zstd: " + String(cString: ZSTD_getErrorName(pending)))
                }
                return target.pos
            }
            if finish ? pending == 0 : source.pos == source.size { break }
        }
    }

    /// Lets `body` write into a reusable 64 KiB buffer and appends the bytes it reports as written.
    static func withScratch<R>(
        _ scratch: UnsafeMutableRawBufferPointer, into output: inout [UInt8],
        _ body: (UnsafeMutableRawBufferPointer) -> (R, Int)
    ) -> R {
        let (result, written) = body(scratch)
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<written]))
        return result
    }

    static func withScratch(
        _ scratch: UnsafeMutableRawBufferPointer, into output: inout [UInt8],
        _ body: (UnsafeMutableRawBufferPointer) throws(CompressionError) -> Int
    ) throws(CompressionError) {
        let written = try body(scratch)
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<written]))
    }

    static func withBytes(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(CompressionError) -> Void)
        throws(CompressionError)
    {
        var failure: CompressionError?
        array.withUnsafeBytes { bytes in
            do throws(CompressionError) {
                try body(bytes)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    static let scratchSize = 1 << 16
}
