import Foundation
import PinCore

/// Collects the lines that are not valid records as NDJSON (`source`, `line`, `reason`, `raw`)
/// in a local file, for upload to `<dest>/_rejected/dt=…/`.
final class RejectLog {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private(set) var count = 0

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw BatchError.io("cannot create \(path)")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    deinit { try? handle.close() }

    func add(source: String, line: Int, reason: String, raw: UnsafeBufferPointer<UInt8>?) throws {
        var writer = JSONObjectWriter()
        writer.field("source", string: source)
        writer.field("line", integer: Int64(line))
        writer.field("reason", string: reason)
        writer.field("raw", string: raw.map { String(decoding: $0, as: UTF8.self) })
        buffer += writer.finish()
        buffer.append(0x0A)
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
