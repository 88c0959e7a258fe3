#if canImport(Glibc)
    import Glibc
#endif

/// Splits bytes that arrive in chunks (an S3 download) into lines, as `LineReader` does for
/// byte sources it pulls from: LF or CRLF endings, blank lines skipped but counted, no copy
/// of a line unless it straddles two chunks.
struct LineSplitter {
    /// Lines longer than this are an error rather than unbounded memory.
    static let maximumLineLength = 256 << 20

    private var pending: [UInt8] = []
    private(set) var lineNumber = 0

    struct LineTooLong: Error, CustomStringConvertible {
        var line: Int
        var description: String { "line \(line): longer than \(LineSplitter.maximumLineLength) bytes" }
    }

    /// Calls `body` with the 1-based line number and bytes of every complete line in `chunk`.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void)
        throws
    {
        guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var start = 0
        while start < chunk.count, let found = memchr(base + start, 0x0A, chunk.count - start) {
            let newline = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            lineNumber += 1
            if pending.isEmpty {
                try emit(UnsafeBufferPointer(start: base + start, count: newline - start), body)
            } else {
                pending.append(contentsOf: UnsafeBufferPointer(start: base + start, count: newline - start))
                try pending.withUnsafeBufferPointer { try emit($0, body) }
                pending.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
        if start < chunk.count {
            guard pending.count + chunk.count - start <= Self.maximumLineLength else {
                throw LineTooLong(line: lineNumber + 1)
            }
            pending.append(contentsOf: UnsafeBufferPointer(start: base + start, count: chunk.count - start))
        }
    }

    /// Emits the last line if the input did not end with a newline.
    mutating func finish(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        guard !pending.isEmpty else { return }
        lineNumber += 1
        try pending.withUnsafeBufferPointer { try emit($0, body) }
        pending.removeAll()
    }

    private func emit(_ line: UnsafeBufferPointer<UInt8>, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void)
        throws
    {
        var line = line
        if let last = line.last, last == 0x0D { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
        try body(lineNumber, line)
    }
}
