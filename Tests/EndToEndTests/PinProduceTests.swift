import Foundation
import PinCore
import PinKafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// pin-produce run as a user runs it, against a real broker.
@Suite(.serialized) struct PinProduceTests {
    static let lines: [String] = {
        let text = try! String(
            contentsOf: projectRoot.appendingPathComponent("Tests/PinCoreTests/Fixtures/pins.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").map(String.init)
    }()

    static func scratchFile(_ text: String? = nil) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("produce"))
        if let text { try text.write(to: url, atomically: true, encoding: .utf8) }
        return url
    }

    static func published(_ line: String) throws -> [UInt8] { try RawPin(parsing: Array(line.utf8)).jsonBytes() }

    @Test func validLinesArePublishedAndBadOnesKeptVerbatim() throws {
        let good = Array(Self.lines[0..<5])
        let bad = [#"{"index": 1, "unique_id": "#, #"{"index": -3, "unique_id": "nope", "category": "art"}"#]
        let input = try Self.scratchFile((good + bad).joined(separator: "\n") + "\n")
        let rejects = try Self.scratchFile()
        defer { for url in [input, rejects] { try? FileManager.default.removeItem(at: url) } }
        let topic = uniqueName("produce")
        let tool = try ToolProcess(
            "pin-produce", [input.path, "--brokers", stackBrokers, "--topic", topic, "--reject-file", rejects.path])
        #expect(try tool.wait() == 65, "\(tool.stderr)")
        #expect(tool.stderr.contains("\(input.path):6: invalid JSON at byte 27"))
        #expect(tool.stderr.contains("\(input.path):7: index: Input should be greater than or equal to 0"))
        #expect(tool.stderr.contains("5 records published, 2 rejected, 0 failed"))
        #expect(try String(contentsOf: rejects, encoding: .utf8) == bad.joined(separator: "\n") + "\n")

        let messages = try PinAPITests.readTopic(topic, expecting: good.count)
        #expect(messages.count == good.count)
        let expected = try Dictionary(
            uniqueKeysWithValues: good.map { line in
                (try RawPin(parsing: Array(line.utf8)).uniqueID, try Self.published(line))
            })
        for message in messages {
            let key = String(decoding: message.key ?? [], as: UTF8.self)
            #expect(expected[key] == message.value, "message keyed \(key)")
        }
    }

    @Test func rawSendsLinesUnchangedFromStdin() throws {
        let lines = [Self.lines[10], "  " + Self.lines[11] + "  ", "not json, still sent"]
        let input = try Self.scratchFile(lines.joined(separator: "\n") + "\n")
        defer { try? FileManager.default.removeItem(at: input) }
        let topic = uniqueName("produce-raw")
        let tool = try ToolProcess("pin-produce", ["--raw", "--brokers", stackBrokers, "--topic", topic], stdin: input)
        #expect(try tool.wait() == 0, "\(tool.stderr)")
        let messages = try PinAPITests.readTopic(topic, expecting: lines.count)
        #expect(messages.map { String(decoding: $0.value, as: UTF8.self) }.sorted() == lines.sorted())
        let ids = try [10, 11].map { try RawPin(parsing: Array(Self.lines[$0].utf8)).uniqueID }
        #expect(Set(messages.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }) == Set(ids))
    }

    /// The broker goes away in the middle of stdin: the lines read after that fail once
    /// `--timeout` is up, exit 69, and their messages are in `--failed-file`, ready to send again.
    @Test func failedDeliveriesAreKeptInTheFailedFile() async throws {
        let broker = try ScratchBroker()
        let fifo = try Self.scratchFile()
        let failed = try Self.scratchFile()
        defer { for url in [fifo, failed] { try? FileManager.default.removeItem(at: url) } }
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // Open for reading and writing, so that neither end waits for the other to open.
        let writer = open(fifo.path, O_RDWR)
        #expect(writer >= 0)
        let tool = try ToolProcess(
            "pin-produce",
            [
                "--brokers", broker.address, "--topic", uniqueName("produce-fail"), "--timeout", "2", "--failed-file",
                failed.path,
            ],
            stdin: fifo)
        func send(_ lines: ArraySlice<String>) {
            let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
            #expect(bytes.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) } == bytes.count)
        }
        send(Self.lines[20..<23])
        try await Task.sleep(for: .seconds(2))  // delivered (linger 100 ms) and snapshotted
        try broker.stop()
        send(Self.lines[23..<26])
        close(writer)
        #expect(try tool.wait() == 69, "\(tool.stderr)")
        #expect(tool.stderr.contains("-:4: delivery failed"))
        #expect(tool.stderr.contains("3 records published, 0 rejected, 3 failed"))
        let kept = try String(contentsOf: failed, encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
        #expect(Set(kept) == Set(try Self.lines[23..<26].map(Self.published)))
    }

    /// A broker that stops answering leaves pin-produce waiting for room among the messages it holds
    /// (8 MiB); the first signal must still stop the reading, and the second give up on the rest,
    /// without waiting out `--timeout`.
    @Test func signalsStopAProducerWaitingOnAFrozenBroker() async throws {
        let broker = try ScratchBroker()
        defer { broker.resume() }
        let fifo = try Self.scratchFile()
        let failed = try Self.scratchFile()
        defer { for url in [fifo, failed] { try? FileManager.default.removeItem(at: url) } }
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // Both ends, non-blocking: writes stop with EAGAIN once pin-produce no longer reads.
        let writer = open(fifo.path, O_RDWR | O_NONBLOCK)
        #expect(writer >= 0)
        defer { close(writer) }
        let tool = try ToolProcess(
            "pin-produce",
            [
                "--raw", "--brokers", broker.address, "--topic", uniqueName("produce-frozen"), "--timeout", "300",
                "--failed-file", failed.path,
            ],
            stdin: fifo)
        try await Task.sleep(for: .seconds(1))  // connected
        broker.suspend()
        // Feed lines until the pipe has stayed full for a second: pin-produce is then blocked.
        let chunk = Array((Self.lines.joined(separator: "\n") + "\n").utf8)
        var offset = 0
        var fullSince: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let written = chunk.withUnsafeBytes { write(writer, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 {
                offset = (offset + written) % chunk.count
                fullSince = nil
            } else {
                if fullSince == nil { fullSince = .now }
                if let since = fullSince, ContinuousClock.now - since > .seconds(1) { break }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(tool.process.isRunning)
        let signalled = ContinuousClock.now
        tool.signal(SIGTERM)
        _ = try tool.waitForLog("stopping: delivering what was read", timeout: .seconds(10))
        tool.signal(SIGTERM)
        #expect(try tool.wait(timeout: .seconds(20)) == 69, "\(tool.stderr)")
        #expect(ContinuousClock.now - signalled < .seconds(30))
        #expect(tool.stderr.contains("gave up on"), "\(tool.stderr)")
        let kept = try String(contentsOf: failed, encoding: .utf8).split(separator: "\n")
        #expect(kept.count > 5_000, "about 8 MiB of lines were pending")
    }
}
