import CLZ4
import CSnappy

/// Decompresses whole buffers whose decompressed size is not stated up front, in the framings
/// Kafka's record batches use: gzip members, snappy (a raw block, or xerial-framed as Java
/// clients write it), LZ4 frames and zstd frames. Keeps its contexts from one buffer to the next.
public final class BlockDecompressor {
    public enum Codec: Sendable {
        case gzip, snappy, lz4, zstd
    }

    private var gzip: Decompressor?
    private var zstd: Decompressor?
    private var lz4: OpaquePointer?
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 8)

    public init() {}

    deinit {
        if let lz4 { LZ4F_freeDecompressionContext(lz4) }
        scratch.deallocate()
    }

    /// Replaces the contents of `output` with `input` decompressed.
    public func decompress(_ input: UnsafeRawBufferPointer, codec: Codec, into output: inout [UInt8])
        throws(CompressionError)
    {
        output.removeAll(keepingCapacity: true)
        switch codec {
        case .gzip:
            try Self.decompress(input, keeping: &gzip, as: .gzip, into: &output)
        case .zstd:
            try Self.decompress(input, keeping: &zstd, as: .zstd, into: &output)
        case .snappy:
            try snappy(input, into: &output)
        case .lz4:
            try lz4Frames(input, into: &output)
        }
    }

    /// One whole stream through the decompressor kept in `kept`, which is kept again only when
    /// the stream ends cleanly: a failed one cannot be continued.
    private static func decompress(
        _ input: UnsafeRawBufferPointer, keeping kept: inout Decompressor?, as format: StreamFormat,
        into output: inout [UInt8]
    ) throws(CompressionError) {
        let decompressor: Decompressor
        if let reused = kept.take() { decompressor = reused } else { decompressor = try Decompressor(format: format) }
        try decompressor.decompress(input, into: &output)
        try decompressor.finish()
        kept = decompressor
    }

    // MARK: snappy

    /// xerial's snappy-java framing: this magic, two 4-byte versions, then length-prefixed blocks.
    private static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]

    private func snappy(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(CompressionError) {
        guard input.count >= 16, input.prefix(8).elementsEqual(Self.xerialMagic) else {
            try appendSnappyBlock(input, to: &output)
            return
        }
        var position = 16
        while position < input.count {
            guard input.count - position >= 4 else { throw CompressionError("truncated xerial snappy block header") }
            let length = Int(
                UInt32(input[position]) << 24 | UInt32(input[position + 1]) << 16 | UInt32(input[position + 2]) << 8
                    | UInt32(input[position + 3]))
            position += 4
            guard length <= input.count - position else { throw CompressionError("truncated xerial snappy block") }
            try appendSnappyBlock(UnsafeRawBufferPointer(rebasing: input[position..<position + length]), to: &output)
            position += length
        }
    }

    private func appendSnappyBlock(_ block: UnsafeRawBufferPointer, to output: inout [UInt8])
        throws(CompressionError)
    {
        guard let source = block.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
        var length = 0
        guard snappy_uncompressed_length(source, block.count, &length) == SNAPPY_OK else {
            throw CompressionError("corrupt snappy block (bad length header)")
        }
        let start = output.count
        output.reserveCapacity(start + length)
        var status = SNAPPY_OK
        output.append(contentsOf: repeatElement(0, count: length))
        output.withUnsafeMutableBytes { out in
            var produced = length
            status = snappy_uncompress(
                source, block.count, (out.baseAddress! + start).assumingMemoryBound(to: CChar.self), &produced)
            if produced != length { status = SNAPPY_INVALID_INPUT }
        }
        guard status == SNAPPY_OK else { throw CompressionError("corrupt snappy block") }
    }

    // MARK: LZ4

    private func lz4Frames(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(CompressionError) {
        guard let base = input.baseAddress else { return }
        let context = try lz4Context()
        var position = 0
        var inFrame = false
        while position < input.count || inFrame {
            var produced = scratch.count
            var consumed = input.count - position
            let hint = LZ4F_decompress(context, scratch.baseAddress, &produced, base + position, &consumed, nil)
            if LZ4F_isError(hint) != 0 {
                LZ4F_resetDecompressionContext(context)
                throw CompressionError("corrupt LZ4 frame: " + String(cString: LZ4F_getErrorName(hint)))
            }
            position += consumed
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<produced]))
            inFrame = hint != 0
            if inFrame && consumed == 0 && produced == 0 {
                LZ4F_resetDecompressionContext(context)
                throw CompressionError("truncated LZ4 frame")
            }
        }
    }

    private func lz4Context() throws(CompressionError) -> OpaquePointer {
        if let lz4 { return lz4 }
        var context: OpaquePointer?
        let status = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(status) == 0, let context else { throw CompressionError("LZ4: cannot create a context") }
        lz4 = context
        return context
    }
}
