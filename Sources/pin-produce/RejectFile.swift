import PinCore

#if canImport(Glibc)
import Glibc
#endif

/// Rejected lines, verbatim, one per line; buffered, created (truncated) when opened.
struct RejectFile {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []

    init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw SystemError(operation: "open \(path)", errno: errno) }
        self.path = path
        buffer.reserveCapacity(1 << 16)
    }

    mutating func append(_ line: UnsafeBufferPointer<UInt8>) throws {
        buffer.append(contentsOf: line)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { try flush() }
    }

    mutating func close() throws {
        try flush()
        if Glibc.close(fd) != 0 { throw SystemError(operation: "close \(path)", errno: errno) }
    }

    private mutating func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "write \(path)", errno: errno)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
