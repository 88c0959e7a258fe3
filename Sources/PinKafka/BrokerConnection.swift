import CRdKafka
import Glibc

/// A blocking TCP connection to one broker for ``KafkaPartitionReader``, with a read buffer that
/// holds what the caller asks for next and grows only as far as the largest such request: a
/// response is read as it arrives, never whole.
final class BrokerConnection {
    let address: String
    private let descriptor: Int32
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// The unread bytes are `storage[readIndex..<writeIndex]`.
    private var readIndex = 0
    private var writeIndex = 0

    /// Connects; `timeout` bounds the connect and every later send and receive.
    init(host: String, port: Int, timeout: Duration, bufferSize: Int = 1 << 20) throws(KafkaError) {
        address = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else {
            throw KafkaError(RD_KAFKA_RESP_ERR__RESOLVE, "resolve \(address): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var seconds = timeout.components.seconds
        if seconds == 0 && timeout > .zero { seconds = 1 }
        var limit = timeval(tv_sec: Int(seconds), tv_usec: 0)
        var connected: Int32 = -1
        var failure: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry, connected < 0 {
            entry = current.pointee.ai_next
            let candidate = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            guard candidate >= 0 else {
                failure = errno
                continue
            }
            // SO_SNDTIMEO bounds connect() too (Linux).
            setsockopt(candidate, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(candidate, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            var one: Int32 = 1
            setsockopt(candidate, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if connect(candidate, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                connected = candidate
            } else {
                failure = errno
                close(candidate)
            }
        }
        guard connected >= 0 else {
            throw KafkaError(
                RD_KAFKA_RESP_ERR__TRANSPORT, "connect to \(address): \(String(cString: strerror(failure)))")
        }
        descriptor = connected
        capacity = bufferSize
        storage = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        close(descriptor)
        storage.deallocate()
    }

    func send(_ bytes: [UInt8]) throws(KafkaError) {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, $0.count - sent, 0) }
            if result < 0 {
                if errno == EINTR { continue }
                throw transportError("send to")
            }
            sent += result
        }
    }

    /// Makes at least `count` unread bytes available and returns where they start; valid until
    /// the next call that reads.
    func peek(_ count: Int) throws(KafkaError) -> UnsafeRawPointer {
        if writeIndex - readIndex < count { try fill(count) }
        return UnsafeRawPointer(storage + readIndex)
    }

    func consume(_ count: Int) {
        precondition(count <= writeIndex - readIndex)
        readIndex += count
        if readIndex == writeIndex { (readIndex, writeIndex) = (0, 0) }
    }

    /// Drops the next `count` bytes, read or not, without holding them.
    func skip(_ count: Int) throws(KafkaError) {
        var left = count
        while left > 0 {
            let step = min(left, capacity)
            _ = try peek(step)
            consume(step)
            left -= step
        }
    }

    private func fill(_ count: Int) throws(KafkaError) {
        if capacity - readIndex < count {
            // Move the unread bytes to the front, and grow when even that is too small.
            let unread = writeIndex - readIndex
            if capacity < count {
                let grown = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
                grown.copyMemory(from: storage + readIndex, byteCount: unread)
                storage.deallocate()
                storage = grown
                capacity = count
            } else {
                memmove(storage, storage + readIndex, unread)
            }
            (readIndex, writeIndex) = (0, unread)
        }
        while writeIndex - readIndex < count {
            let result = recv(descriptor, storage + writeIndex, capacity - writeIndex, 0)
            if result > 0 {
                writeIndex += result
            } else if result == 0 {
                throw KafkaError(RD_KAFKA_RESP_ERR__TRANSPORT, "\(address) closed the connection")
            } else if errno != EINTR {
                throw errno == EAGAIN || errno == EWOULDBLOCK
                    ? KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, "no answer from \(address)")
                    : transportError("receive from")
            }
        }
    }

    private func transportError(_ what: String) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR__TRANSPORT, "\(what) \(address): \(String(cString: strerror(errno)))")
    }
}
