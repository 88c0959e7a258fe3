import Foundation
import PinCompression
import Testing

/// Sample inputs: empty, tiny, text-like and incompressible.
private func samples() -> [[UInt8]] {
    var generator = SystemRandomNumberGenerator()
    let random = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let text = Array(String(repeating: "{\"title\":\"Ünïcode ☃ pins\",\"index\":12345}\n", count: 5_000).utf8)
    return [[], [42], Array("hello".utf8), text, random]
}

@Suite struct CompressionCodecTests {
    @Test(arguments: CompressionCodec.allCases)
    func blockRoundTrip(codec: CompressionCodec) throws {
        for sample in samples() {
            let packed = try codec.compress(sample)
            let unpacked = try codec.decompress(packed, uncompressedSize: sample.count)
            #expect(unpacked == sample)
        }
    }

    @Test func compressAppendsToExistingBuffer() throws {
        var output: [UInt8] = [1, 2, 3]
        let input = Array(repeating: UInt8(7), count: 1000)
        try input.withUnsafeBytes { try CompressionCodec.zstd.compress($0, appendingTo: &output) }
        #expect(output.prefix(3) == [1, 2, 3])
        #expect(try CompressionCodec.zstd.decompress(Array(output.dropFirst(3)), uncompressedSize: 1000) == input)
    }

    @Test func reusedZstdContextGivesTheSameBytes() throws {
        let compressor = try ZstdBlockCompressor()
        // Twice over, so every block after the first goes through a context that has been used.
        for sample in samples() + samples().reversed() {
            for level in [nil, 1, 9] {
                var reused: [UInt8] = [9]
                try sample.withUnsafeBytes { try compressor.compress($0, appendingTo: &reused, level: level) }
                #expect(reused.first == 9)
                #expect(Array(reused.dropFirst()) == (try CompressionCodec.zstd.compress(sample, level: level)))
            }
        }
    }

    @Test(arguments: [CompressionCodec.snappy, .gzip, .zstd])
    func corruptBlockThrows(codec: CompressionCodec) throws {
        let garbage: [UInt8] = Array("this is not compressed data at all, sorry".utf8)
        #expect(throws: CompressionError.self) { try codec.decompress(garbage, uncompressedSize: 100) }
        // A valid block with the wrong declared size is an error too.
        let packed = try codec.compress(Array("abcdefabcdefabcdef".utf8))
        #expect(throws: CompressionError.self) { try codec.decompress(packed, uncompressedSize: 17) }
        #expect(throws: CompressionError.self) { try codec.decompress(Array(packed.dropLast(3)), uncompressedSize: 18) }
    }

    /// Blocks must be readable by another Parquet implementation's codecs (Arrow's) and the other way round.
    @Test(arguments: [CompressionCodec.snappy, .gzip, .zstd])
    func blockInteropWithArrow(codec: CompressionCodec) throws {
        let sample = samples()[3]
        let packed = try codec.compress(sample)
        let script = """
            import sys, pyarrow as pa
            mode, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
            data = sys.stdin.buffer.read()
            c = pa.Codec(name)
            out = c.decompress(data, decompressed_size=size) if mode == "d" else c.compress(data)
            sys.stdout.buffer.write(out.to_pybytes())
            """
        let python = ExternalTool.python
        let unpacked = try ExternalTool.run(
            [python, "-c", script, "d", codec.rawValue, String(sample.count)], input: packed)
        #expect(unpacked == sample)
        let fromArrow = try ExternalTool.run([python, "-c", script, "c", codec.rawValue, "0"], input: sample)
        #expect(try codec.decompress(fromArrow, uncompressedSize: sample.count) == sample)
    }
}
