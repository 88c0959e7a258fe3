import PinCore

#if canImport(Glibc)
import Glibc
#endif

/// Reads a file descriptor; after a shutdown signal it reports the end of input.
struct InterruptibleSource: ByteSource {
    let fileDescriptor: Int32
    let name: String

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if ShutdownSignal.requested { return 0 }
            let count = Glibc.read(fileDescriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw SystemError(operation: "read \(name)", errno: errno)
        }
    }
}
