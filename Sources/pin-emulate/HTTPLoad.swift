import Foundation
import PinCore
import Synchronization

/// POSTs the feed's records to pin-api from `concurrency` threads, each with its own
/// keep-alive connection, optionally paced to a rate, and reports what happened.
struct HTTPLoad: Sendable {
    let target: Target
    let feed: RecordFeed
    let concurrency: Int
    let rate: Double
    let pauseUpToOneSecond: Bool
    let token: String?
    /// Keep each accepted record's unique_id and the wall-clock time of its answer.
    var recordAcks = false
    let logger: StderrLogger

    func run() -> LatencyRecorder {
        let start = ContinuousClock.now
        let totals = Mutex(LatencyRecorder())
        let progress = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let group = DispatchGroup()
        for worker in 0..<concurrency {
            group.enter()
            Thread.detachNewThread {
                let recorder = work(worker: worker, start: start, progress: progress)
                totals.withLock { $0.merge(recorder) }
                group.leave()
            }
        }
        if StandardStream.errorIsTerminal {
            Thread.detachNewThread {
                while !done.load(ordering: .relaxed) {
                    Thread.sleep(forTimeInterval: 2)
                    let sent = progress.load(ordering: .relaxed)
                    let seconds = (ContinuousClock.now - start).inSeconds
                    StandardStream.writeError("\rsent \(sent) (\(Int(Double(sent) / max(seconds, 0.001)))/s)   ")
                }
            }
        }
        group.wait()
        done.store(true, ordering: .relaxed)
        let seconds = (ContinuousClock.now - start).inSeconds
        let result = totals.withLock { $0 }
        report(result, seconds: seconds)
        return result
    }

    private func work(worker: Int, start: ContinuousClock.Instant, progress: borrowing Atomic<Int>) -> LatencyRecorder {
        var recorder = LatencyRecorder()
        var random = SeededRandom(seed: UInt64(worker) &+ 0x5EED)
        let connection = HTTPConnection(host: target.host, port: target.port)
        var headers = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        while let (sequence, pin) = feed.next() {
            // With a rate, latency counts from when the request was due, so a slow server
            // cannot hide its queueing (no coordinated omission).
            var sentAt = ContinuousClock.now
            if rate > 0 {
                let due = start + .seconds(Double(sequence) / rate)
                if due > sentAt { Thread.sleep(forTimeInterval: (due - sentAt).inSeconds) }
                sentAt = due
            }
            do {
                let response = try connection.send(
                    method: "POST", path: target.path, headers: headers, body: pin.jsonBytes())
                switch response.status {
                case 200..<300:
                    recorder.accepted += 1
                    if recordAcks { recorder.acks.append((pin.uniqueID, Date().timeIntervalSince1970)) }
                case 400, 413, 422: recorder.rejected += 1
                default:
                    recorder.failed += 1
                    if recorder.firstFailure == nil {
                        recorder.firstFailure =
                            "HTTP \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))"
                    }
                }
                recorder.latencies.append((ContinuousClock.now - sentAt).inSeconds)
            } catch {
                recorder.failed += 1
                if recorder.firstFailure == nil { recorder.firstFailure = "\(error)" }
            }
            progress.add(1, ordering: .relaxed)
            if pauseUpToOneSecond { Thread.sleep(forTimeInterval: Double(random.next() % 1000) / 1000) }
        }
        return recorder
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
