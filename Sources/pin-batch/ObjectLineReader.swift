import PinCompression
import PinObjectStore

/// Streams the records of one input object: decompresses `.gz`/`.zst` on the fly and splits
/// NDJSON into lines; a single-record `.json` object is one "line" (number 1) however it is laid out.
struct ObjectLineReader {
    let store: any ObjectStore

    /// Calls `body` with the line number and bytes of every non-blank line of `object`.
    /// Returns the number of compressed bytes read.
    @discardableResult
    func forEachLine(of object: SourceObject, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void)
        async throws -> Int
    {
        switch object.shape {
        case .singleRecord:
            let bytes = try await store.get(object.key)
            if bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A }) {
                try bytes.withUnsafeBufferPointer { try body(1, $0) }
            }
            return bytes.count
        case .lines(let format):
            let decompressor = try Decompressor(format: format)
            var splitter = LineSplitter()
            var decompressed: [UInt8] = []
            var read = 0
            try await store.get(object.key) { chunk in
                read += chunk.count
                if format == .none {
                    try splitter.feed(chunk, body)
                } else {
                    decompressed.removeAll(keepingCapacity: true)
                    try decompressor.decompress(chunk, into: &decompressed)
                    try decompressed.withUnsafeBytes { try splitter.feed($0, body) }
                }
            }
            try decompressor.finish()
            try splitter.finish(body)
            return read
        }
    }
}
