/// The pending, contiguous run of one partition's messages that will become one object.
struct PartitionBuffer {
    let firstOffset: Int64
    let date: String
    let startedAt: ContinuousClock.Instant
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0
    private(set) var lastOffset: Int64

    init(firstOffset: Int64, date: String, startedAt: ContinuousClock.Instant) {
        self.firstOffset = firstOffset
        self.lastOffset = firstOffset - 1
        self.date = date
        self.startedAt = startedAt
    }

    /// Appends one value as one line. Newline bytes inside the value become spaces, so that
    /// every object holds exactly one line per message (recovery counts lines); in valid JSON a
    /// raw newline can only be insignificant whitespace. Returns whether the value had any.
    mutating func append(offset: Int64, value: [UInt8]) -> Bool {
        var hadNewline = false
        let start = bytes.count
        bytes.append(contentsOf: value)
        for index in start..<bytes.count where bytes[index] == 0x0A {
            bytes[index] = 0x20
            hadNewline = true
        }
        bytes.append(0x0A)
        count += 1
        lastOffset = offset
        return hadNewline
    }
}
