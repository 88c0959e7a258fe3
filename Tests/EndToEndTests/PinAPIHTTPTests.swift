import Foundation
import PinCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// pin-api's HTTP/1.1 handling, spoken byte by byte over a plain socket: pipelining, chunked
/// bodies, `Expect: 100-continue`, `Connection: close`, unknown routes, and a SIGTERM while
/// requests are in flight.
@Suite(.serialized) struct PinAPIHTTPTests {
    /// One TCP connection to pin-api, reading whole responses (head and Content-Length body).
    final class RawConnection {
        private let fd: Int32
        private var pending: [UInt8] = []

        struct Response {
            var status: Int
            var headers: [String: String]
            var body: String
        }

        init(_ base: URL) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(base.port!).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { throw ToolError(description: "cannot connect to \(base)") }
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard count > 0 else { return }
                sent += count
            }
        }

        /// Reads more bytes; false at end of stream or on timeout.
        private func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            pending += chunk[..<count]
            return true
        }

        /// The next response, or nil if the connection ended first. An answer to HEAD (`toHead`)
        /// has no body, whatever its Content-Length says.
        func readResponse(toHead: Bool = false) -> Response? {
            let separator = Array("\r\n\r\n".utf8)
            var headEnd: Int?
            while headEnd == nil {
                if pending.count >= 4 {
                    headEnd = (0...(pending.count - 4)).first { Array(pending[$0..<$0 + 4]) == separator }
                }
                if headEnd == nil, !fill() { return nil }
            }
            let head = String(decoding: pending[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
            let status = Int(head[0].split(separator: " ")[1])!
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
            }
            let length = toHead ? 0 : Int(headers["content-length"] ?? "0")!
            let bodyStart = headEnd! + 4
            while pending.count < bodyStart + length { if !fill() { return nil } }
            let body = String(decoding: pending[bodyStart..<bodyStart + length], as: UTF8.self)
            pending.removeFirst(bodyStart + length)
            return Response(status: status, headers: headers, body: body)
        }

        /// Whether the server closed the connection: the next read, within 5 s, finds the end of
        /// the stream (not a timeout, not more bytes).
        var isClosedByServer: Bool {
            guard pending.isEmpty else { return false }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 5_000) == 1 else { return false }
            var byte: UInt8 = 0
            let count = recv(fd, &byte, 1, 0)
            return count == 0 || (count < 0 && errno == ECONNRESET)
        }
    }

    static func post(_ body: String, path: String = "/pin/", extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: pin-api\r\nContent-Type: application/json\r\n\(extra)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let topic = uniqueName("api-http")
        let (api, base) = try PinAPITests.startAPI(topic: topic)
        let connection = try RawConnection(base)
        let pin = PinAPITests.text(PinAPITests.samplePins[50])
        // Three requests in one write: the second is invalid and answered at once, the first waits for
        // Kafka; the answers must still come back in the order asked.
        connection.send(
            Self.post(pin) + Self.post(#"{"index":"x"}"#) + "GET /healthz HTTP/1.1\r\nHost: pin-api\r\n\r\n")
        let answers = (0..<3).compactMap { _ in connection.readResponse() }
        #expect(answers.map(\.status) == [200, 422, 200])
        #expect(try RawPin(parsing: Array(answers[0].body.utf8)) == PinAPITests.samplePins[50])
        #expect(answers[2].body == #"{"status":"ok"}"#)

        // A second request pipelined behind one that waits for Kafka, with only part of its body sent:
        // it is handed over while the first answer is written, and the rest of its body must still count.
        let waiting = PinAPITests.text(PinAPITests.samplePins[53])
        let halfSent = Self.post(PinAPITests.text(PinAPITests.samplePins[54]))
        let cut = halfSent.index(halfSent.endIndex, offsetBy: -40)
        connection.send(Self.post(waiting) + String(halfSent[..<cut]))
        #expect(connection.readResponse()?.status == 200)
        connection.send(String(halfSent[cut...]))
        #expect(connection.readResponse()?.status == 200)

        // A chunked body, in two chunks.
        let second = PinAPITests.text(PinAPITests.samplePins[51])
        let split = second.utf8.index(second.utf8.startIndex, offsetBy: 100)
        let (front, back) = (String(second[..<split]), String(second[split...]))
        connection.send(
            "POST /pin/ HTTP/1.1\r\nHost: pin-api\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(front.utf8.count, radix: 16) + "\r\n\(front)\r\n"
                + String(back.utf8.count, radix: 16) + "\r\n\(back)\r\n0\r\n\r\n")
        #expect(connection.readResponse()?.status == 200)

        // Expect: 100-continue gets its interim answer before the body is sent.
        let third = PinAPITests.text(PinAPITests.samplePins[52])
        connection.send(
            "POST /pin/ HTTP/1.1\r\nHost: pin-api\r\nExpect: 100-continue\r\nContent-Length: \(third.utf8.count)\r\n\r\n"
        )
        #expect(connection.readResponse()?.status == 100)
        connection.send(third)
        #expect(connection.readResponse()?.status == 200)

        // Unknown routes and methods, FastAPI-shaped.
        connection.send("GET /nowhere HTTP/1.1\r\nHost: pin-api\r\n\r\nGET /pin/ HTTP/1.1\r\nHost: pin-api\r\n\r\n")
        let notFound = connection.readResponse()
        #expect(notFound?.status == 404)
        #expect(notFound?.body == #"{"detail":"Not Found"}"#)
        let wrongMethod = connection.readResponse()
        #expect(wrongMethod?.status == 405)
        #expect(wrongMethod?.headers["allow"] == "POST")

        // HEAD is GET without the body: the next answer on the connection starts right after the head.
        connection.send(
            "HEAD /healthz HTTP/1.1\r\nHost: pin-api\r\n\r\nGET /healthz HTTP/1.1\r\nHost: pin-api\r\n\r\n")
        let headAnswer = connection.readResponse(toHead: true)
        #expect(headAnswer?.status == 200)
        #expect(headAnswer?.headers["content-length"] == "15")
        #expect(connection.readResponse()?.body == #"{"status":"ok"}"#)
        connection.send("DELETE /healthz HTTP/1.1\r\nHost: pin-api\r\n\r\n")
        #expect(connection.readResponse()?.headers["allow"] == "GET, HEAD")

        // Thirty requests in one write, records and health checks in turn: every answer in order.
        let many = Array(PinAPITests.samplePins[60..<75])
        connection.send(
            many.map { Self.post(PinAPITests.text($0)) + "GET /healthz HTTP/1.1\r\nHost: pin-api\r\n\r\n" }.joined())
        for pin in many {
            let stored = connection.readResponse()
            #expect(stored?.status == 200)
            #expect(try stored.map { try RawPin(parsing: Array($0.body.utf8)) } == pin)
            #expect(connection.readResponse()?.body == #"{"status":"ok"}"#)
        }

        // Connection: close is honoured.
        connection.send("GET /healthz HTTP/1.1\r\nHost: pin-api\r\nConnection: close\r\n\r\n")
        let last = connection.readResponse()
        #expect(last?.status == 200)
        #expect(last?.headers["connection"] == "close")
        #expect(connection.isClosedByServer)

        let messages = try PinAPITests.readTopic(topic, expecting: 20)
        #expect(
            Set(messages.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } })
                == Set(([50, 51, 52, 53, 54] + Array(60..<75)).map { PinAPITests.samplePins[$0].uniqueID }))
        api.signal(SIGTERM)
        #expect(try api.wait() == 0)
    }

    /// Bytes that are not HTTP are answered 400 and the connection closes; a request before them
    /// that waits for Kafka still gets its answer first.
    @Test func bytesThatAreNotHTTPAreAnswered400AndTheConnectionCloses() async throws {
        let topic = uniqueName("api-garbage")
        let (api, base) = try PinAPITests.startAPI(topic: topic)
        let alone = try RawConnection(base)
        alone.send("NOT HTTP AT ALL\r\n\r\n")
        let refused = alone.readResponse()
        #expect(refused?.status == 400)
        #expect(refused?.headers["connection"] == "close")
        #expect(alone.isClosedByServer)

        let behind = try RawConnection(base)
        behind.send(Self.post(PinAPITests.text(PinAPITests.samplePins[80])) + "\u{1}\u{2} garbage\r\n\r\n")
        let stored = behind.readResponse()
        #expect(stored?.status == 200)
        #expect(stored?.headers["connection"] == "close")
        #expect(behind.isClosedByServer)
        #expect(try PinAPITests.readTopic(topic, expecting: 1).count == 1)

        // The server still answers new connections.
        let after = try RawConnection(base)
        after.send("GET /healthz HTTP/1.1\r\nHost: pin-api\r\n\r\n")
        #expect(after.readResponse()?.status == 200)
        api.signal(SIGTERM)
        #expect(try api.wait() == 0)
    }

    /// A connection silent for `--idle-timeout` is closed; one that keeps asking stays open.
    @Test func anIdleConnectionIsClosed() async throws {
        // Two seconds: a busy connection's 250 ms pauses stay far below it even on a loaded machine.
        let (api, base) = try PinAPITests.startAPI(topic: uniqueName("api-idle"), extra: ["--idle-timeout", "2"])
        let healthz = "GET /healthz HTTP/1.1\r\nHost: pin-api\r\n\r\n"
        let idle = try RawConnection(base)
        let busy = try RawConnection(base)
        idle.send(healthz)
        #expect(idle.readResponse()?.status == 200)
        for _ in 0..<14 {
            busy.send(healthz)
            #expect(busy.readResponse()?.status == 200)
            // Blocking on purpose: a task suspended here may wait seconds for a thread while the
            // other suites' blocking calls hold them all, and the busy connection would go silent.
            usleep(250_000)
        }
        #expect(idle.isClosedByServer)
        busy.send(healthz)
        #expect(busy.readResponse()?.status == 200)
        api.signal(SIGTERM)
        #expect(try api.wait() == 0)
    }

    /// SIGTERM while 32 requests are still arriving: the server stops accepting, lets each finish,
    /// answers it after Kafka's acknowledgement, then exits 0 with every record in the topic.
    @Test func sigtermLetsTheRequestsInFlightFinish() async throws {
        let topic = uniqueName("api-drain")
        let (api, base) = try PinAPITests.startAPI(topic: topic)
        let pins = Array(PinAPITests.samplePins[100..<132])
        let connections = try pins.map { _ in try RawConnection(base) }
        var rests: [String] = []
        for (connection, pin) in zip(connections, pins) {
            let request = Self.post(PinAPITests.text(pin))
            let cut = request.index(request.endIndex, offsetBy: -40)
            connection.send(String(request[..<cut]))
            rests.append(String(request[cut...]))
        }
        // Wait until the server has read all 32 heads (the metrics request itself is one more).
        var inFlight = 0
        for _ in 0..<100 where inFlight < 33 {
            let metrics = try await PinAPITests.request(base, "metrics").body
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("pinapi_requests_in_flight ") }
            inFlight = line.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            if inFlight < 33 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(inFlight == 33)

        api.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        #expect((try? RawConnection(base)) == nil, "no new connections once stopping")
        for (connection, rest) in zip(connections, rests) { connection.send(rest) }
        let answers = connections.map { $0.readResponse() }
        #expect(answers.map { $0?.status } == Array(repeating: 200, count: pins.count))
        #expect(answers.allSatisfy { $0?.headers["connection"] == "close" })
        #expect(try api.wait() == 0)

        let messages = try PinAPITests.readTopic(topic, expecting: pins.count)
        #expect(messages.count == pins.count)
        #expect(
            Set(messages.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }) == Set(pins.map(\.uniqueID))
        )
    }
}
