import Foundation
import PinKafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// pin-emulate as a load generator against a real pin-api and broker.
@Suite(.serialized) struct PinEmulateTests {
    /// The numbers of pin-emulate's summary line: sent, accepted, rejected, failed.
    static func summary(_ stderr: String) throws -> [String: Int] {
        guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("sent ") }) else {
            throw ToolError(description: "no summary in: \(stderr)")
        }
        var numbers: [String: Int] = [:]
        for part in line.prefix(while: { $0 != ":" }).split(separator: ",") {
            let words = part.split(separator: " ")
            if words.count >= 2, let value = Int(words[1]) { numbers[String(words[0])] = value }
        }
        return numbers
    }

    @Test func everyRecordIsPostedAndEveryAcceptedOneIsInTheTopic() throws {
        let topic = uniqueName("emulate")
        let (api, base) = try PinAPITests.startAPI(topic: topic)
        defer { api.signal(SIGTERM); _ = try? api.wait() }
        let ackLog = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("acks"))
        defer { try? FileManager.default.removeItem(at: ackLog) }
        let emulate = try ToolProcess(
            "pin-emulate",
            [
                "--url", base.appendingPathComponent("pin/").absoluteString, "--count", "400", "--seed", "3",
                "--concurrency", "16", "--ack-log", ackLog.path,
            ])
        #expect(try emulate.wait() == 0, "\(emulate.stderr)")
        #expect(try Self.summary(emulate.stderr) == ["sent": 400, "accepted": 400, "rejected": 0, "failed": 0])

        let acked = try String(contentsOf: ackLog, encoding: .utf8).split(separator: "\n")
            .map { String($0.split(separator: "\t")[0]) }
        #expect(Set(acked).count == 400)
        let keys = try PinAPITests.readTopic(topic, expecting: 400).map {
            String(decoding: $0.key ?? [], as: UTF8.self)
        }
        #expect(keys.count == 400)
        #expect(Set(keys) == Set(acked))
    }

    @Test func aRateSpreadsTheRecordsOverTime() throws {
        let (api, base) = try PinAPITests.startAPI(topic: uniqueName("emulate-rate"))
        defer { api.signal(SIGTERM); _ = try? api.wait() }
        let started = ContinuousClock.now
        let emulate = try ToolProcess(
            "pin-emulate",
            ["--url", base.appendingPathComponent("pin/").absoluteString, "--count", "300", "--rate", "200"])
        #expect(try emulate.wait() == 0, "\(emulate.stderr)")
        // Record n is due n/200 s after the start: the last one at 1.495 s.
        #expect(ContinuousClock.now - started >= .milliseconds(1495))
        #expect(try Self.summary(emulate.stderr)["accepted"] == 300)
    }

    @Test func aServerThatNeverAnswersFailsEachRequestAfterTheTimeout() throws {
        // A listening socket nobody accepts from: connections complete and requests go out, but no
        // answer ever comes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        #expect(bound)
        let url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/pin/"
        let started = ContinuousClock.now
        let emulate = try ToolProcess(
            "pin-emulate", ["--url", url, "--count", "3", "--concurrency", "1", "--timeout", "0.5"])
        #expect(try emulate.wait(timeout: .seconds(30)) == 69, "\(emulate.stderr)")
        #expect(try Self.summary(emulate.stderr) == ["sent": 3, "accepted": 0, "rejected": 0, "failed": 3])
        #expect(emulate.stderr.contains("no answer within"))
        #expect(ContinuousClock.now - started >= .milliseconds(1500))
    }

    @Test func connectionsTheServerClosedWhileIdleAreOpenedAgain() throws {
        // pin-api closes a connection silent for 0.2 s; the original emulator's pauses (0–1 s) outlast that.
        let (api, base) = try PinAPITests.startAPI(topic: uniqueName("emulate-idle"), extra: ["--idle-timeout", "0.2"])
        defer { api.signal(SIGTERM); _ = try? api.wait() }
        let emulate = try ToolProcess(
            "pin-emulate",
            ["--url", base.appendingPathComponent("pin/").absoluteString, "--like-original", "--count", "6"])
        _ = try emulate.wait()
        let numbers = try Self.summary(emulate.stderr)
        #expect(numbers["sent"] == 6)
        #expect(numbers["failed"] == 0, "\(emulate.stderr)")
    }
}
