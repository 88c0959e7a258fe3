import PinCompression
import Testing

/// ``BlockDecompressor`` on buffers framed as Kafka record batches frame them. (Every codec is
/// also read from a real broker in PinKafkaTests' KafkaPartitionReaderTests.)
@Suite struct BlockDecompressorTests {
    let text = Array(String(repeating: "{\"pin\":\"a pin of some length\"}\n", count: 4000).utf8)

    @Test func readsRawAndXerialFramedSnappy() throws {
        let decompressor = BlockDecompressor()
        var output: [UInt8] = []
        let raw = try CompressionCodec.snappy.compress(text)
        try raw.withUnsafeBytes { try decompressor.decompress($0, codec: .snappy, into: &output) }
        #expect(output == text)

        // snappy-java's framing: magic, two versions, then length-prefixed blocks.
        var xerial: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]
        for half in [text[..<50_000], text[50_000...]] {
            let block = try CompressionCodec.snappy.compress(Array(half))
            withUnsafeBytes(of: UInt32(block.count).bigEndian) { xerial.append(contentsOf: $0) }
            xerial.append(contentsOf: block)
        }
        try xerial.withUnsafeBytes { try decompressor.decompress($0, codec: .snappy, into: &output) }
        #expect(output == text)
    }

    @Test func reusesItsContextsFromOneBufferToTheNext() throws {
        let decompressor = BlockDecompressor()
        var output: [UInt8] = []
        for codec in [CompressionCodec.gzip, .zstd] {
            for round in 0..<3 {
                let input = Array(text.prefix(10_000 * (round + 1)))
                let compressed = try codec.compress(input)
                try compressed.withUnsafeBytes {
                    try decompressor.decompress($0, codec: codec == .gzip ? .gzip : .zstd, into: &output)
                }
                #expect(output == input)
            }
        }
    }

    @Test func corruptOrTruncatedInputIsAnErrorAndTheNextBufferStillDecodes() throws {
        let decompressor = BlockDecompressor()
        var output: [UInt8] = []
        let garbage: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]  // an LZ4 magic, then nonsense
        #expect(throws: CompressionError.self) {
            try garbage.withUnsafeBytes { try decompressor.decompress($0, codec: .lz4, into: &output) }
        }
        let gzip = try CompressionCodec.gzip.compress(text)
        #expect(throws: CompressionError.self) {
            try gzip.prefix(gzip.count / 2).withUnsafeBytes {
                try decompressor.decompress($0, codec: .gzip, into: &output)
            }
        }
        try gzip.withUnsafeBytes { try decompressor.decompress($0, codec: .gzip, into: &output) }
        #expect(output == text)
    }
}
