import Foundation
import PinCore

/// The pending, contiguous run of one partition's messages that will become one object.
struct PartitionBuffer {
    let firstOffset: Int64
    let date: String
    let startedAt: ContinuousClock.Instant
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0
    private(set) var lastOffset: Int64
    /// Lines whose value was checked as it was appended (see ``SealedRun/countInvalidValues()``).
    private(set) var checkedLines: [Int] = []
    private(set) var invalidCheckedLines = 0

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
        let hadNewline = value.baseAddress.map { memchr($0, 0x0A, value.count) != nil } ?? false
        if hadNewline {
            // Its line will hold spaces for the newlines, which can pass a JSON check the value
            // itself fails (a raw newline inside a string): check the value now.
            checkedLines.append(count)
            if !JSONValidator.isValid(value) { invalidCheckedLines += 1 }
        }
        let start = bytes.count
        bytes.append(contentsOf: value)
        if hadNewline {
            bytes.withUnsafeMutableBufferPointer { buffer in
                for index in start..<buffer.count where buffer[index] == 0x0A { buffer[index] = 0x20 }
            }
        }
        bytes.append(0x0A)
        count += 1
        lastOffset = offset
        return hadNewline
    }
}
