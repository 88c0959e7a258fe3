import ArgumentParser
import Foundation
import PinCore
import Synchronization

@main
struct PinEmulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-emulate",
        abstract: "Replay or synthesise Pinterest records as NDJSON or HTTP load.",
        discussion: """
            Without --count, replays the real sample once; with --count N, synthesises N records from it \
            (fresh unique_id and index, the same share of dirty values, reproducible with --seed). \
            Without --url the records go to stdout as NDJSON; with --url each is POSTed to pin-api over \
            keep-alive connections, and a report of throughput and latency percentiles ends the run.

            Examples:
              pin-emulate --count 1000000 --seed 7 > pins.ndjson
              pin-emulate --url http://127.0.0.1:8000/pin/ --count 100000 --concurrency 64
              pin-emulate --url http://127.0.0.1:8000/pin/ --rate 2000 --count 60000
              pin-emulate --url http://127.0.0.1:8000/pin/ --like-original
            """
    )

    @Option(help: "Synthesise this many records (default: replay the sample once).")
    var count: Int?

    @Option(help: "Seed for synthesised records and random draws.")
    var seed: UInt64 = 1

    @Option(help: "NDJSON file of raw pins to replay or draw from (default: the bundled real sample).")
    var sample: String?

    @Option(help: "POST each record to this pin-api URL, e.g. http://127.0.0.1:8000/pin/.")
    var url: String?

    @Option(help: "Records per second (0: as fast as possible).")
    var rate: Double = 0

    @Option(
        help: ArgumentHelp(
            "Concurrent keep-alive connections for --url (default 8; with --rate, one per 50 records/s, "
                + "so a steady rate is kept up while answers take up to 20 ms)."))
    var concurrency: Int?

    /// A connection waits for each answer, so a rate needs enough of them in flight.
    private var connections: Int {
        if let concurrency { return concurrency }
        guard rate > 0 else { return 8 }
        return max(8, min(512, Int((rate / 50).rounded(.up))))
    }

    @Option(
        help: ArgumentHelp(
            "With --url: write each accepted record's unique_id and the time its 2xx answer arrived (Unix seconds), "
                + "tab-separated, one per line.", valueName: "file"))
    var ackLog: String?

    @Option(help: "Seconds to wait for each answer before counting the request as failed.")
    var timeout: Double = 30

    @Option(help: "Bearer token for pin-api (env PIN_API_TOKEN).")
    var token: String?

    @Flag(help: "Behave like the original emulator: random real rows, one at a time, 0–1 s apart.")
    var likeOriginal = false

    @OptionGroup var log: LogOptions

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must be >= 0") }
        if rate < 0 { throw ValidationError("--rate must be >= 0") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be >= 1") }
        if likeOriginal && url == nil { throw ValidationError("--like-original needs --url") }
        if ackLog != nil && url == nil { throw ValidationError("--ack-log needs --url") }
        if let url { _ = try Target(url: url) }
    }

    func run() throws {
        let logger = log.makeLogger(tool: "pin-emulate")
        guard let samplePath = sample ?? SampleRecords.bundledPath else {
            logger.error("the bundled sample is missing; pass --sample FILE")
            throw ExitStatus.usage
        }
        let records: [RawPin]
        do {
            records = try SampleRecords.load(path: samplePath)
        } catch {
            logger.error("\(error)")
            throw ExitStatus.dataError
        }
        guard !records.isEmpty else {
            logger.error("\(samplePath) holds no records")
            throw ExitStatus.dataError
        }
        let mode: RecordFeed.Mode =
            likeOriginal ? .randomRealRows(count: count) : count.map { .synthesize(count: $0) } ?? .replay
        let feed = RecordFeed(sample: records, mode: mode, seed: seed)
        if let url {
            let target = try Target(url: url)
            let load = HTTPLoad(
                target: target, feed: feed, concurrency: likeOriginal ? 1 : connections, rate: rate,
                pauseUpToOneSecond: likeOriginal, token: token ?? Environment.value("PIN_API_TOKEN"),
                timeout: .seconds(timeout),
                recordAcks: ackLog != nil, logger: logger)
            let result = load.run()
            if let ackLog { try writeAcks(result.acks, to: ackLog, logger: logger) }
            throw result.failed > 0
                ? ExitStatus.unavailable : result.rejected > 0 ? ExitStatus.dataError : ExitStatus.ok
        } else {
            try writeNDJSON(feed: feed, logger: logger)
        }
    }

    /// NDJSON to stdout in large writes, paced when --rate is set.
    private func writeNDJSON(feed: RecordFeed, logger: StderrLogger) throws {
        let start = ContinuousClock.now
        var out = [UInt8]()
        out.reserveCapacity(1 << 20)
        var written = 0
        while let (sequence, pin) = feed.next() {
            if rate > 0 {
                let due = start + .seconds(Double(sequence) / rate)
                if due > ContinuousClock.now {
                    try flush(&out)
                    Thread.sleep(forTimeInterval: (due - ContinuousClock.now).inSeconds)
                }
            }
            out.append(contentsOf: pin.jsonBytes())
            out.append(0x0A)
            written += 1
            if out.count >= 1 << 20 { try flush(&out) }
        }
        try flush(&out)
        let seconds = (ContinuousClock.now - start).inSeconds
        logger.info("wrote \(written) records in \(String(format: "%.2f", seconds)) s")
    }

    private func writeAcks(_ acks: [(uniqueID: String, time: Double)], to path: String, logger: StderrLogger) throws {
        var text = ""
        text.reserveCapacity(acks.count * 56)
        for ack in acks { text += "\(ack.uniqueID)\t\(String(format: "%.6f", ack.time))\n" }
        do {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            logger.error("cannot write \(path): \(error)")
            throw ExitStatus.ioError
        }
    }

    private func flush(_ out: inout [UInt8]) throws {
        guard !out.isEmpty else { return }
        let ok = out.withUnsafeBytes { StandardStream.write($0, to: 1) }
        guard ok else { throw ExitStatus.ioError }  // e.g. the reader of the pipe went away
        out.removeAll(keepingCapacity: true)
    }
}

/// Where to POST: parsed once from --url.
struct Target: Sendable {
    var host: String
    var port: UInt16
    var path: String

    init(url: String) throws {
        guard url.hasPrefix("http://") else { throw ValidationError("--url must start with http://, got '\(url)'") }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        if let colon = authority.lastIndex(of: ":"), let port = UInt16(authority[authority.index(after: colon)...]) {
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty else { throw ValidationError("--url has no host: '\(url)'") }
    }
}
