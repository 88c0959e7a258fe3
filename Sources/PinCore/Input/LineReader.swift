#if canImport(Glibc)
    import Glibc
#endif

/// Splits a byte stream into NDJSON lines, fast: one large buffer, `memchr` for newlines,
/// no copy of a line unless it straddles two reads. Handles LF and CRLF, skips blank lines
/// (counting them, so line numbers match an editor's), and grows for lines of any length.
public struct LineReader<Source: ByteSource> {
    private var source: Source
    private let storage: Storage
    private var buffer: UnsafeMutableRawBufferPointer {
        get { storage.buffer }
        nonmutating set { storage.buffer = newValue }
    }
    /// Lines longer than this are an error rather than unbounded memory.
    public let maximumLineLength: Int

    public init(source: Source, bufferSize: Int = 1 << 20, maximumLineLength: Int = 256 << 20) {
        self.source = source
        self.storage = Storage(byteCount: max(bufferSize, 16))
        self.maximumLineLength = maximumLineLength
    }

    /// Owns the read buffer, so it is freed however the reader goes away.
    private final class Storage {
        var buffer: UnsafeMutableRawBufferPointer
        init(byteCount: Int) { buffer = .allocate(byteCount: byteCount, alignment: 16) }
        deinit { buffer.deallocate() }
    }

    /// Calls `body` with the 1-based line number and the bytes of every non-blank line,
    /// without its line ending. The bytes are valid only inside the call.
    public mutating func forEachLine(_ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var lineNumber = 0
        var filled = 0  // bytes in buffer[0..<filled]
        var start = 0  // start of the current, unfinished line
        var scanned = 0  // bytes before this have no newline in the current line
        var atEnd = false
        while true {
            let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            // Emit every complete line in the buffer.
            while scanned < filled,
                let found = memchr(base + scanned, 0x0A, filled - scanned)
            {
                let newline = UnsafeMutableRawPointer(found) - UnsafeMutableRawPointer(base)
                lineNumber += 1
                try emit(base, start, newline, lineNumber, body)
                start = newline + 1
                scanned = start
            }
            scanned = filled
            if atEnd {
                if start < filled {
                    lineNumber += 1
                    try emit(base, start, filled, lineNumber, body)
                }
                return
            }
            // Make room: slide the partial line to the front, or grow for a long one.
            if start > 0 {
                memmove(base, base + start, filled - start)
                filled -= start
                scanned -= start
                start = 0
            }
            if filled == buffer.count {
                guard buffer.count < maximumLineLength else {
                    throw LineTooLongError(line: lineNumber + 1, limit: maximumLineLength)
                }
                let larger = UnsafeMutableRawBufferPointer.allocate(
                    byteCount: min(buffer.count * 2, maximumLineLength), alignment: 16)
                larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
                buffer.deallocate()
                buffer = larger
            }
            let count = try source.read(
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { atEnd = true }
            filled += count
        }
    }

    private func emit(
        _ base: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int, _ lineNumber: Int,
        _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        var end = end
        if end > start, base[end - 1] == 0x0D { end -= 1 }
        var first = start
        while first < end, Self.isBlank(base[first]) { first += 1 }
        guard first < end else { return }
        try body(lineNumber, UnsafeBufferPointer(start: base + start, count: end - start))
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }
}

extension LineReader where Source == FileDescriptorSource {
    public init(fileDescriptor: Int32, name: String = "-") {
        self.init(source: FileDescriptorSource(fileDescriptor: fileDescriptor, name: name))
    }
}

extension LineReader where Source == MemorySource {
    public init(bytes: [UInt8]) {
        self.init(source: MemorySource(bytes), bufferSize: max(bytes.count + 1, 16))
    }
}

public struct LineTooLongError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var limit: Int
    public var description: String { "line \(line): longer than \(limit) bytes" }
}
