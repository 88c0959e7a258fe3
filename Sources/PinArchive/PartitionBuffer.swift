import Foundation

/// The pending, contiguous run of one partition's messages that will become one object.
struct PartitionBuffer {
    let firstOffset: Int64
    let date: String
    let startedAt: ContinuousClock.Instant
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0
    private(set) var lastOffset: Int64

    /// `storage` is an empty array whose capacity is reused.
    init(firstOffset: Int64, date: String, startedAt: ContinuousClock.Instant, storage: [UInt8] = []) {
        self.firstOffset = firstOffset
        self.bytes = storage
        self.lastOffset = firstOffset - 1
        self.date = date
        self.startedAt = startedAt
    }

    /// Appends one value as one line. Newline bytes inside the value become spaces, so that
    /// every object holds exactly one line per message (recovery counts lines); in valid JSON a
    /// raw newline can only be insignificant whitespace. Returns whether the value had any.
    mutating func append(offset: Int64, value: UnsafeBufferPointer<UInt8>) -> Bool {
        var hadNewline = false
        let start = bytes.count
        bytes.append(contentsOf: value)
        bytes.withUnsafeMutableBytes { buffer in
            guard var cursor = buffer.baseAddress.map({ $0 + start }) else { return }
            let end = buffer.baseAddress! + buffer.count
            while cursor < end, let found = memchr(cursor, 0x0A, end - cursor) {
                found.storeBytes(of: 0x20, as: UInt8.self)
                hadNewline = true
                cursor = UnsafeMutableRawPointer(found) + 1
            }
        }
        bytes.append(0x0A)
        count += 1
        lastOffset = offset
        return hadNewline
    }
}
