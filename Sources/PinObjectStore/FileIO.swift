import Foundation

/// The few POSIX file operations the stores need, with EINTR and short writes handled once.
enum FileIO {
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(ObjectStoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .posix("write", path: path)
            }
            offset += written
        }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(ObjectStoreError)
        -> Int
    {
        while true {
            let count = Foundation.read(fd, buffer.baseAddress!, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw .posix("read", path: path) }
        }
    }

    /// Fills `buffer` from the file unless the file ends first; returns how many bytes were read.
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String)
        throws(ObjectStoreError) -> Int
    {
        var filled = 0
        while filled < buffer.count {
            let count = try read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), path: path)
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// Fills `buffer` from `offset` on (pread) unless the file ends first; returns how many bytes were read.
    static func readFully(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String
    ) throws(ObjectStoreError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = pread(fd, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if count < 0 {
                if errno == EINTR { continue }
                throw .posix("read", path: path)
            }
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    static func fileSize(_ fd: Int32, path: String) throws(ObjectStoreError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .posix("stat", path: path) }
        return Int64(info.st_size)
    }
}

extension ObjectStoreError {
    /// An error from the last failed system call (`errno`).
    static func posix(_ operation: String, path: String, errno code: Int32 = errno) -> ObjectStoreError {
        let kind: Kind = code == ENOENT ? .noSuchKey : (code == EACCES || code == EPERM ? .accessDenied : .io)
        return ObjectStoreError(
            kind, operation: operation, target: path, code: "errno \(code)", message: String(cString: strerror(code)))
    }
}
