import Foundation
import PinCompression
import Testing

private let lines = Array((0..<20_000).map { "{\"index\":\($0),\"title\":\"pin número \($0) ✓\"}\n" }.joined().utf8)

/// Feeds `data` to the decompressor in chunks of `chunk` bytes.
private func decompress(_ data: [UInt8], format: StreamFormat, chunk: Int) throws -> [UInt8] {
    let decompressor = try Decompressor(format: format)
    var output: [UInt8] = []
    var start = 0
    while start < data.count {
        let end = min(start + chunk, data.count)
        try Array(data[start..<end]).withUnsafeBytes { try decompressor.decompress($0, into: &output) }
        start = end
    }
    try decompressor.finish()
    return output
}

/// Compresses `data` fed in chunks of `chunk` bytes.
private func compress(_ data: [UInt8], format: StreamFormat, chunk: Int) throws -> [UInt8] {
    let compressor = try Compressor(format: format)
    var output: [UInt8] = []
    var start = 0
    while start < data.count {
        let end = min(start + chunk, data.count)
        try compressor.compress(Array(data[start..<end]), into: &output)
        start = end
    }
    try compressor.finish(into: &output)
    return output
}

@Suite struct StreamCompressionTests {
    @Test(arguments: StreamFormat.allCases)
    func roundTripInChunks(format: StreamFormat) throws {
        for chunk in [1, 7, 4096, 1 << 20] where chunk > 1 || format != .none {
            let packed = try compress(lines, format: format, chunk: chunk)
            if format != .none { #expect(packed.count < lines.count / 3) }
            #expect(try decompress(packed, format: format, chunk: chunk == 1 ? 3 : chunk) == lines)
        }
    }

    @Test(arguments: [StreamFormat.gzip, .zstd])
    func emptyStream(format: StreamFormat) throws {
        let packed = try Compressor.compress([], format: format)
        #expect(!packed.isEmpty)
        #expect(try Decompressor.decompress(packed, format: format) == [])
    }

    @Test(arguments: [StreamFormat.gzip, .zstd])
    func concatenatedMembers(format: StreamFormat) throws {
        let first = Array("first part\n".utf8)
        let second = Array(lines.prefix(100_000))
        let joined =
            try Compressor.compress(first, format: format) + Compressor.compress([], format: format)
            + Compressor.compress(second, format: format)
        #expect(try decompress(joined, format: format, chunk: 5) == first + second)
        #expect(try decompress(joined, format: format, chunk: 1 << 20) == first + second)
    }

    @Test(arguments: [StreamFormat.gzip, .zstd])
    func truncatedStreamThrowsOnFinish(format: StreamFormat) throws {
        let packed = try Compressor.compress(lines, format: format)
        #expect(throws: CompressionError.self) {
            try decompress(Array(packed.prefix(packed.count / 2)), format: format, chunk: 1000)
        }
        #expect(throws: CompressionError.self) {
            try decompress(Array(packed.dropLast(1)), format: format, chunk: 1000)
        }
    }

    @Test(arguments: [StreamFormat.gzip, .zstd])
    func corruptStreamThrows(format: StreamFormat) throws {
        #expect(throws: CompressionError.self) {
            try Decompressor.decompress(Array("plain text, not compressed".utf8), format: format)
        }
        var packed = try Compressor.compress(lines, format: format)
        for index in stride(from: 20, to: packed.count - 20, by: 97) { packed[index] ^= 0x5A }
        #expect(throws: CompressionError.self) { try Decompressor.decompress(packed, format: format) }
    }

    @Test func gzipTrailingGarbageThrows() throws {
        let packed = try Compressor.compress(lines, format: .gzip) + Array("garbage!".utf8)
        #expect(throws: CompressionError.self) { try Decompressor.decompress(packed, format: .gzip) }
    }

    @Test(arguments: [("gzip", StreamFormat.gzip), ("zstd", .zstd)])
    func interopWithCommandLineTools(tool: String, format: StreamFormat) throws {
        // Swift → tool.
        let packed = try compress(lines, format: format, chunk: 10_000)
        #expect(try ExternalTool.run([tool, "-d", "-c"], input: packed) == lines)
        // tool → Swift, including members concatenated by the tool's own output.
        let first = try ExternalTool.run([tool, "-c"], input: Array(lines.prefix(1000)))
        let second = try ExternalTool.run([tool, "-c", "-9"], input: Array(lines.dropFirst(1000)))
        #expect(try decompress(first + second, format: format, chunk: 333) == lines)
        // Swift members concatenated → tool reads them as one stream.
        let joined =
            try Compressor.compress(Array(lines.prefix(10)), format: format)
            + Compressor.compress(Array(lines.dropFirst(10)), format: format)
        #expect(try ExternalTool.run([tool, "-d", "-c"], input: joined) == lines)
    }

    @Test func interopWithPythonGzip() throws {
        let packed = try Compressor.compress(lines, format: .gzip, level: 9)
        let script = "import sys, gzip; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))"
        #expect(try ExternalTool.run(["python3", "-c", script], input: packed) == lines)
        let back = try ExternalTool.run(
            ["python3", "-c", "import sys, gzip; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read()))"],
            input: lines)
        #expect(try Decompressor.decompress(back, format: .gzip) == lines)
    }

    @Test func formatDetection() {
        #expect(StreamFormat(fileName: "a+0+00000000000000000001.jsonl.gz") == .gzip)
        #expect(StreamFormat(fileName: "x.jsonl.zst") == .zstd)
        #expect(StreamFormat(fileName: "x.jsonl") == StreamFormat.none)
        #expect(StreamFormat(magic: [0x1F, 0x8B, 8, 0]) == .gzip)
        #expect(StreamFormat(magic: [0x28, 0xB5, 0x2F, 0xFD, 1]) == .zstd)
        #expect(StreamFormat(magic: Array("{\"a\"".utf8)) == nil)
        #expect(StreamFormat.zstd.fileExtension == ".zst")
    }
}
