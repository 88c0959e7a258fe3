#if canImport(Glibc)
    import Glibc
#endif

/// One keep-alive HTTP/1.1 connection of ``HTTPLoad``: a non-blocking socket that ``HTTPLoad``'s
/// epoll loop drives, one request at a time, reading answers with Content-Length bodies (what
/// pin-api sends).
final class LoadConnection {
    struct Response {
        var status: Int
        var body: ArraySlice<UInt8>
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// What a read brought.
    enum ReadResult {
        case incomplete
        case answered(Response, closes: Bool)
        case closed(Failure)
    }

    let fd: Int32
    /// Requests this connection has had answered; a closed kept-alive connection is not a failure
    /// of the request on it when the server closed it before reading that request.
    private(set) var answered = 0
    private var outgoing: [UInt8] = []
    private var written = 0
    private var incoming: [UInt8] = []
    /// How far `incoming` was searched for the end of the head.
    private var searched = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    /// Connects (blocking: the target is near) and makes the socket non-blocking.
    init(host: String, port: UInt16) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            let socketFD = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if socketFD >= 0 {
                if connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                    var on: Int32 = 1
                    setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                    _ = fcntl(socketFD, F_SETFL, fcntl(socketFD, F_GETFL) | O_NONBLOCK)
                    fd = socketFD
                    return
                }
                lastError = errno
                close(socketFD)
            }
            entry = info.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))")
    }

    deinit { close(fd) }

    /// Starts sending a request; returns whether all of it went out (else wait until writable).
    func start(_ request: [UInt8]) throws -> Bool {
        outgoing = request
        written = 0
        return try continueWriting()
    }

    /// Writes what the socket takes; returns whether the request is all out.
    func continueWriting() throws -> Bool {
        while written < outgoing.count {
            let count = outgoing.withUnsafeBytes {
                send(fd, $0.baseAddress! + written, outgoing.count - written, Int32(MSG_NOSIGNAL))
            }
            if count >= 0 {
                written += count
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return false
            } else if errno != EINTR {
                throw Failure(description: "send: \(String(cString: strerror(errno)))")
            }
        }
        return true
    }

    /// Reads what has arrived; an answer is complete once its head and Content-Length body are in.
    func read() -> ReadResult {
        let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { return .closed(Failure(description: "connection closed by the server")) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .incomplete }
            return .closed(Failure(description: "recv: \(String(cString: strerror(errno)))"))
        }
        incoming.append(contentsOf: scratch[0..<count])
        return parse()
    }

    /// Whether any byte of the current answer has arrived.
    var hasPartialAnswer: Bool { !incoming.isEmpty }

    private func parse() -> ReadResult {
        guard let headEnd = endOfHead() else { return .incomplete }
        let lines = String(decoding: incoming[0..<headEnd], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
            let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { return .closed(Failure(description: "malformed response status line")) }
        var length = 0
        var closes = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            if name == "content-length" { length = Int(value.prefix { $0 != " " }) ?? 0 }
            if name == "connection", value.lowercased().hasPrefix("close") { closes = true }
        }
        let bodyStart = headEnd + 4
        guard incoming.count >= bodyStart + length else { return .incomplete }
        let response = Response(status: status, body: incoming[bodyStart..<(bodyStart + length)])
        incoming.removeFirst(bodyStart + length)
        searched = 0
        answered += 1
        return .answered(response, closes: closes)
    }

    /// The offset of the blank line that ends the head, searching only what is new.
    private func endOfHead() -> Int? {
        guard incoming.count >= 4 else { return nil }
        var start = max(0, searched - 3)
        while start <= incoming.count - 4 {
            if incoming[start] == 13 && incoming[start + 1] == 10 && incoming[start + 2] == 13
                && incoming[start + 3] == 10
            {
                return start
            }
            start += 1
        }
        searched = incoming.count
        return nil
    }
}
