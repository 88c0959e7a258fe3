import PinCore
import Synchronization

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

/// A ``RejectFile`` that the delivery-report thread writes to: the messages whose delivery failed.
final class FailedFile: Sendable {
    private let file: Mutex<RejectFile?>
    private let firstError = Mutex<(any Error)?>(nil)
    let path: String

    init(path: String) throws {
        file = Mutex(try RejectFile(path: path))
        self.path = path
    }

    func append(_ value: UnsafeRawBufferPointer) {
        file.withLock { file in
            do {
                try file?.append(
                    UnsafeBufferPointer(
                        start: value.baseAddress?.assumingMemoryBound(to: UInt8.self), count: value.count))
            } catch {
                firstError.withLock { $0 = $0 ?? error }
            }
        }
    }

    /// Flushes and closes; throws the first write error, if any.
    func close() throws {
        try file.withLock { file in
            try file?.close()
            file = nil
        }
        if let error = firstError.withLock({ $0 }) { throw error }
    }
}
