import Foundation
import PinCore

#if canImport(Glibc)
    import Glibc
#endif

/// POSTs the feed's records to pin-api over `concurrency` keep-alive connections, optionally paced
/// to a rate, and reports what happened. One thread drives every connection through poll(2), as
/// wrk does with epoll: a thread per connection would cost the machine under test a context
/// switch per request and add the load generator's own scheduling delays to the latencies it
/// reports.
struct HTTPLoad {
    let target: Target
    let feed: RecordFeed
    let concurrency: Int
    let rate: Double
    let pauseUpToOneSecond: Bool
    let token: String?
    /// How long a request may wait for its answer before it counts as failed.
    let timeout: Duration
    /// Keep each accepted record's unique_id and the wall-clock time of its answer.
    var recordAcks = false
    let logger: StderrLogger

    /// A record on its way: its latency counts from `due`.
    private struct Request {
        var sequence: Int
        var uniqueID: String
        var bytes: [UInt8]
        var due: ContinuousClock.Instant
        var attempts = 1
        /// When it last went out on a connection.
        var sentAt = ContinuousClock.now
    }

    func run() -> LatencyRecorder {
        let start = ContinuousClock.now
        var loop = Loop(load: self, start: start)
        loop.run()
        let seconds = (ContinuousClock.now - start).inSeconds
        report(loop.recorder, seconds: seconds)
        return loop.recorder
    }

    /// The request bytes up to the Content-Length value, the same for every record.
    fileprivate var requestPrefix: [UInt8] {
        var head = "POST \(target.path) HTTP/1.1\r\nHost: \(target.host):\(target.port)\r\n"
        head += "Content-Type: application/json\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        head += "Content-Length: "
        return Array(head.utf8)
    }

    private struct Loop {
        let load: HTTPLoad
        let start: ContinuousClock.Instant
        let prefix: [UInt8]
        var recorder = LatencyRecorder()
        /// One slot per connection: opened on first use and again after the server closed it.
        var connections: [LoadConnection?]
        /// poll(2)'s view of the slots: fd -1 where there is no connection.
        var watched: [pollfd]
        var inFlight: [Request?]
        var idle: [Int]
        /// Requests to send again on a fresh connection (their kept-alive one closed under them).
        var again: [Request] = []
        var upcoming: (sequence: Int, pin: RawPin)?
        /// With `pauseUpToOneSecond`: when the next record may go.
        var pausedUntil: ContinuousClock.Instant
        var random = SeededRandom(seed: 0x5EED)
        var nextProgress: ContinuousClock.Instant
        /// When ``failOverdueRequests()`` looks next: every tenth of a second, the timeout's precision.
        var nextOverdueCheck: ContinuousClock.Instant

        init(load: HTTPLoad, start: ContinuousClock.Instant) {
            self.load = load
            self.start = start
            prefix = load.requestPrefix
            connections = Array(repeating: nil, count: load.concurrency)
            watched = Array(repeating: pollfd(fd: -1, events: 0, revents: 0), count: load.concurrency)
            inFlight = Array(repeating: nil, count: load.concurrency)
            idle = Array((0..<load.concurrency).reversed())
            upcoming = load.feed.next()
            pausedUntil = start
            nextProgress = start + .seconds(2)
            nextOverdueCheck = start
        }

        var busy: Int { load.concurrency - idle.count }

        mutating func run() {
            while upcoming != nil || !again.isEmpty || busy > 0 {
                sendWhatIsDue()
                guard upcoming != nil || !again.isEmpty || busy > 0 else { break }
                let timeout = waitMilliseconds()
                let ready = watched.withUnsafeMutableBufferPointer {
                    poll($0.baseAddress, nfds_t($0.count), timeout)
                }
                if ready < 0 && errno != EINTR {
                    recorder.fail("poll: \(String(cString: strerror(errno)))")
                    return
                }
                if ready > 0 {
                    for slot in watched.indices where watched[slot].revents != 0 {
                        handle(slot: slot, events: watched[slot].revents)
                    }
                }
                failOverdueRequests()
                showProgress()
            }
        }

        /// When the next record is due: now without a rate, on its schedule with one.
        func due(of sequence: Int) -> ContinuousClock.Instant {
            if load.rate > 0 { return start + .seconds(Double(sequence) / load.rate) }
            return load.pauseUpToOneSecond ? pausedUntil : start
        }

        /// How long poll may wait: until the next record is due, if a connection is free for it;
        /// a tenth of a second at most, the precision of the answer timeout.
        func waitMilliseconds() -> Int32 {
            guard !idle.isEmpty, again.isEmpty, let upcoming else { return busy > 0 ? 100 : 0 }
            let wait = (due(of: upcoming.sequence) - ContinuousClock.now).inSeconds
            return wait <= 0 ? 0 : Int32(min(100, (wait * 1000).rounded(.up)))
        }

        mutating func sendWhatIsDue() {
            while let slot = idle.last {
                let request: Request
                if let retry = again.popLast() {
                    request = retry
                } else if let (sequence, pin) = upcoming {
                    let due = due(of: sequence)
                    guard due <= ContinuousClock.now else { return }
                    let body = pin.jsonBytes()
                    var bytes = prefix
                    bytes.append(contentsOf: "\(body.count)\r\n\r\n".utf8)
                    bytes.append(contentsOf: body)
                    // Latency counts from when a paced request was due, so a slow server cannot hide
                    // its queueing (no coordinated omission); otherwise from when it was sent.
                    request = Request(
                        sequence: sequence, uniqueID: pin.uniqueID, bytes: bytes,
                        due: load.rate > 0 ? due : ContinuousClock.now)
                    upcoming = load.feed.next()
                } else {
                    return
                }
                idle.removeLast()
                send(request, on: slot)
            }
        }

        mutating func send(_ request: Request, on slot: Int) {
            var request = request
            request.sentAt = ContinuousClock.now
            do {
                let connection: LoadConnection
                if let open = connections[slot] { connection = open } else { connection = try open(slot) }
                inFlight[slot] = request
                if try !connection.start(request.bytes) { watch(slot, writable: true) }
            } catch {
                drop(slot)
                fail(slot: slot, "\(error)")
            }
        }

        mutating func open(_ slot: Int) throws -> LoadConnection {
            let connection = try LoadConnection(host: load.target.host, port: load.target.port)
            connections[slot] = connection
            watched[slot] = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            return connection
        }

        mutating func watch(_ slot: Int, writable: Bool) {
            watched[slot].events = Int16(POLLIN) | (writable ? Int16(POLLOUT) : 0)
        }

        mutating func drop(_ slot: Int) {
            connections[slot] = nil
            watched[slot] = pollfd(fd: -1, events: 0, revents: 0)
        }

        mutating func handle(slot: Int, events: Int16) {
            guard let connection = connections[slot] else { return }
            if events & Int16(POLLOUT) != 0 {
                do {
                    if try connection.continueWriting() { watch(slot, writable: false) }
                } catch {
                    lost(slot, failure: "\(error)")
                    return
                }
            }
            guard events & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return }
            switch connection.read() {
            case .incomplete:
                return
            case .answered(let response, let closes):
                guard let request = inFlight[slot] else {
                    lost(slot, failure: "an answer nobody asked for")
                    return
                }
                if closes { drop(slot) }
                answered(slot: slot, request: request, response: response)
            case .closed(let failure):
                lost(slot, failure: failure.description)
            }
        }

        /// The connection is gone. A request on it is sent once more on a fresh connection if the
        /// server closed a kept-alive connection before answering any of it (as the idle timeout
        /// does); otherwise it failed.
        mutating func lost(_ slot: Int, failure: String) {
            let reused = (connections[slot]?.answered ?? 0) > 0
            let partial = connections[slot]?.hasPartialAnswer ?? false
            drop(slot)
            guard var request = inFlight[slot] else { return }  // an idle connection closed: fine
            if reused && !partial && request.attempts == 1 {
                request.attempts += 1
                inFlight[slot] = nil
                again.append(request)
                idle.append(slot)
            } else {
                fail(slot: slot, failure)
            }
        }

        /// A server that takes a request and never answers must not hold the run forever: after
        /// `timeout` the request fails and its connection is closed (a late answer on it would
        /// belong to no request).
        mutating func failOverdueRequests() {
            let now = ContinuousClock.now
            guard now >= nextOverdueCheck else { return }
            nextOverdueCheck = now + .milliseconds(100)
            for slot in inFlight.indices {
                guard let request = inFlight[slot], now - request.sentAt > load.timeout else { continue }
                drop(slot)
                fail(slot: slot, "no answer within \(load.timeout)")
            }
        }

        /// The slot's request failed without an answer (not timed: there is no answer to time).
        mutating func fail(slot: Int, _ reason: String) {
            release(slot)
            recorder.fail(reason)
        }

        mutating func answered(slot: Int, request: Request, response: LoadConnection.Response) {
            let now = release(slot)
            switch response.status {
            case 200..<300:
                recorder.accepted += 1
                if load.recordAcks { recorder.acks.append((request.uniqueID, Date().timeIntervalSince1970)) }
            case 400, 413, 422: recorder.rejected += 1
            default:
                // Still timed below: a 503 after the produce timeout is a latency too.
                recorder.fail("HTTP \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
            }
            recorder.latencies.append((now - request.due).inSeconds)
        }

        /// The slot is free for the next request; returns when that happened.
        @discardableResult
        mutating func release(_ slot: Int) -> ContinuousClock.Instant {
            let now = ContinuousClock.now
            inFlight[slot] = nil
            idle.append(slot)
            if load.pauseUpToOneSecond { pausedUntil = now + .milliseconds(Int(random.next() % 1000)) }
            return now
        }

        mutating func showProgress() {
            guard StandardStream.errorIsTerminal, ContinuousClock.now >= nextProgress else { return }
            nextProgress = ContinuousClock.now + .seconds(2)
            let sent = recorder.sent
            let seconds = (ContinuousClock.now - start).inSeconds
            StandardStream.writeError("\rsent \(sent) (\(Int(Double(sent) / max(seconds, 0.001)))/s)   ")
        }
    }

    private func report(_ result: LatencyRecorder, seconds: Double) {
        let sorted = result.latencies.sorted()
        func ms(_ fraction: Double) -> String { String(format: "%.2f", LatencyRecorder.percentile(sorted, fraction)) }
        if StandardStream.errorIsTerminal { StandardStream.writeError("\r") }
        let line =
            "sent \(result.sent), accepted \(result.accepted), rejected \(result.rejected), failed \(result.failed)"
            + " in \(String(format: "%.2f", seconds)) s: \(Int(Double(result.sent) / max(seconds, 0.001))) req/s;"
            + " latency ms p50 \(ms(0.5)) p90 \(ms(0.9)) p99 \(ms(0.99)) max \(ms(1.0))"
        StandardStream.writeError(line + "\n")
        if let failure = result.firstFailure { logger.warning("first failure: \(failure)") }
    }
}
