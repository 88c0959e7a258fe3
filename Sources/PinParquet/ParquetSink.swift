#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a `ParquetWriter` puts its bytes, written strictly in order.
public protocol ParquetSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Called once after the footer; flushes and releases resources.
    func close() throws
}

/// Collects the file in memory (for small files or uploads of a whole object).
public final class ParquetMemorySink: ParquetSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) {
        self.bytes.append(contentsOf: bytes)
    }

    public func close() {}
}

/// Writes to a local file, created or truncated, through a 1 MiB buffer.
public final class ParquetFileSink: ParquetSink {
    public let path: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferSize = 1 << 20

    public init(path: String) throws(ParquetError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ParquetError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(bufferSize)
    }

    deinit {
        if descriptor >= 0 { _ = systemClose(descriptor) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > bufferSize {
            try flush()
        }
        if bytes.count >= bufferSize {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    public func close() throws {
        try flush()
        guard descriptor >= 0 else { return }
        let status = fsync(descriptor)
        let closeStatus = systemClose(descriptor)
        descriptor = -1
        guard status == 0, closeStatus == 0 else {
            throw ParquetError("cannot finish \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard descriptor >= 0 else { throw ParquetError("\(path) is already closed") }
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ParquetError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}

private func systemClose(_ descriptor: Int32) -> Int32 {
    #if canImport(Glibc)
        Glibc.close(descriptor)
    #else
        Darwin.close(descriptor)
    #endif
}

private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(descriptor, bytes, count)
    #else
        Darwin.write(descriptor, bytes, count)
    #endif
}
