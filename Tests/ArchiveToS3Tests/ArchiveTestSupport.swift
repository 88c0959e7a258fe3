import Foundation
import PinArchive
import PinCompression
import PinKafka
import PinObjectStore
import Synchronization
import Testing

/// Environment for the servers, as the tools read it, with the local stack's defaults.
enum TestEnvironment {
    static var values: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let defaults = [
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:19000",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
        ]
        for (key, value) in defaults where (environment[key] ?? "").isEmpty { environment[key] = value }
        return environment
    }
    static var brokers: String { values["KAFKA_BOOTSTRAP_SERVERS"]! }
}

func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
}

/// The built `pin-consume-s3`: `PINPIPE_BIN` (a file or the folder holding it), else the first
/// folder at or above the test bundle's that contains it.
func toolPath() throws -> String {
    let fileManager = FileManager.default
    if let configured = ProcessInfo.processInfo.environment["PINPIPE_BIN"], !configured.isEmpty {
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: configured, isDirectory: &isDirectory), isDirectory.boolValue {
            return configured + "/pin-consume-s3"
        }
        return configured
    }
    var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while folder.path != "/" {
        let candidate = folder.appendingPathComponent("pin-consume-s3").path
        if fileManager.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    throw ToolNotFound()
}

struct ToolNotFound: Error, CustomStringConvertible {
    var description: String { "pin-consume-s3 not found near the test bundle; build it or set PINPIPE_BIN" }
}

/// A running `pin-consume-s3`.
final class ToolRun: @unchecked Sendable {
    let process = Process()
    let errorFile: String

    init(_ arguments: [String]) throws {
        errorFile = NSTemporaryDirectory() + uniqueName("pin-consume-s3") + ".log"
        _ = FileManager.default.createFile(atPath: errorFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: try toolPath())
        process.arguments = arguments
        process.environment = TestEnvironment.values
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorFile))
        try process.run()
    }

    /// Waits for the exit (polling, so no cooperative thread blocks) and returns the status.
    func wait(timeout: Duration = .seconds(180)) async throws -> Int32 {
        let end = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > end {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("pin-consume-s3 did not finish within \(timeout): \(log)")
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func killHard() async throws {
        kill(process.processIdentifier, SIGKILL)
        _ = try await wait()
    }

    var log: String { (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? "" }
}

extension ToolRun {
    /// Waits until the log holds `text`, the tool exits or the deadline passes.
    func waitForLog(_ text: String, until deadline: ContinuousClock.Instant) async throws {
        while !log.contains(text), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A topic of three partitions holding `count` messages, a fresh directory to archive it to, and
/// the arguments of a member of a fresh group archiving it in small objects, logging at debug level.
struct Backlog {
    let topic: String
    let count: Int
    let directory: String
    let arguments: [String]
    var store: LocalDirectoryStore { LocalDirectoryStore(root: directory) }

    init(count: Int, options: [String]) throws {
        topic = try makeTopic()
        self.count = count
        try produce(topic: topic, range: 0..<count, producer: try makeProducer())
        directory = NSTemporaryDirectory() + uniqueName("archive-backlog")
        arguments =
            [
                "--dest", directory, "--topic", topic, "--group", uniqueName("g"), "--flush-records", "500",
                "--flush-interval", "0.5", "--log-level", "debug",
            ] + options
    }

    /// Waits until the directory holds every message, or `total` if given (or the deadline passes).
    func waitUntilArchived(total: Int? = nil, until deadline: ContinuousClock.Instant) async throws {
        var archived = 0
        while archived < total ?? count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            archived = 0
            for info in try await store.list(prefix: "") {
                archived += try await store.get(info.key).reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
            }
        }
    }

    func removeDirectory() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Runs the tool to its exit.
func runTool(_ arguments: [String]) async throws -> (status: Int32, log: String) {
    let run = try ToolRun(arguments)
    let status = try await run.wait()
    return (status, run.log)
}

/// A flag one task sets and others read.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// The number after `"seq":` in a line, read from the bytes (a regular expression per line is
/// too slow for 100,000 lines in a debug build).
func sequenceNumber(_ line: ArraySlice<UInt8>) -> Int? {
    let marker = Array(#""seq":"#.utf8)
    guard line.count > marker.count else { return nil }
    var index = line.startIndex
    while index + marker.count <= line.endIndex {
        if line[index..<index + marker.count].elementsEqual(marker) {
            var cursor = index + marker.count
            var value = 0
            var digits = 0
            while cursor < line.endIndex, line[cursor] >= 0x30, line[cursor] <= 0x39 {
                value = value * 10 + Int(line[cursor] - 0x30)
                digits += 1
                cursor += 1
            }
            return digits > 0 ? value : nil
        }
        index += 1
    }
    return nil
}

/// A fresh 3-partition topic.
func makeTopic(partitions: Int = 3) throws -> String {
    let topic = uniqueName("archive")
    try KafkaAdmin(bootstrapServers: TestEnvironment.brokers).createTopic(topic, partitions: partitions)
    return topic
}

/// Message `seq` goes to partition `seq % partitions`, so its offset there is `seq / partitions`.
func produce(topic: String, range: Range<Int>, partitions: Int = 3, producer: KafkaProducer) throws {
    for seq in range {
        let value = Array("{\"seq\":\(seq),\"text\":\"pin number \(seq)\"}".utf8)
        try producer.produce(topic: topic, partition: Int32(seq % partitions), key: nil, value: value)
    }
    try producer.flush(timeout: .seconds(60))
}

func makeProducer() throws -> KafkaProducer {
    try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: TestEnvironment.brokers))
}

/// Reads every archive object of `topic` and checks the layout: names parse, each object is a
/// contiguous run whose line j is the message at offset first+j (the value carries its sequence
/// number), objects of a partition never overlap, and every message 0..<count is there exactly once.
func verifyArchive(
    store: any ObjectStore, prefix: String, topic: String, count: Int, partitions: Int = 3
) async throws -> [ArchiveObjectName] {
    let infos = try await store.list(prefix: ArchiveObjectName.topicFolder(prefix: prefix, topic: topic))
    var seen = [Int](repeating: 0, count: count)
    var names: [ArchiveObjectName] = []
    var runs: [Int32: [(first: Int64, count: Int64)]] = [:]
    for info in infos {
        guard let name = ArchiveObjectName(key: info.key, topic: topic) else {
            Issue.record("unexpected object \(info.key)")
            continue
        }
        #expect(info.key == name.key(prefix: prefix))
        names.append(name)
        let bytes = try Decompressor.decompress(try await store.get(info.key), format: name.format)
        #expect(bytes.last == 0x0A, "\(info.key) ends with a newline")
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        for (index, line) in lines.enumerated() {
            guard let seq = sequenceNumber(line), seq < count else {
                Issue.record("bad line in \(info.key): \(String(decoding: line, as: UTF8.self))")
                continue
            }
            seen[seq] += 1
            let offset = name.firstOffset + Int64(index)
            #expect(
                Int64(seq / partitions) == offset && Int32(seq % partitions) == name.partition,
                "\(info.key) line \(index) holds seq \(seq)")
        }
        runs[name.partition, default: []].append((name.firstOffset, Int64(lines.count)))
    }
    for (partition, list) in runs {
        let sorted = list.sorted { $0.first < $1.first }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            #expect(
                a.first + a.count == b.first,
                "partition \(partition): object at \(a.first) (\(a.count)) then \(b.first)")
        }
    }
    let missing = seen.indices.filter { seen[$0] == 0 }
    let duplicated = seen.indices.filter { seen[$0] > 1 }
    #expect(missing.count == 0, "missing seq \(Array(missing.prefix(10))) …")
    #expect(duplicated.count == 0, "duplicated seq \(Array(duplicated.prefix(10))) …")
    return names
}

func makeBucket() async throws -> S3Store {
    let store = try S3Store(bucket: uniqueName("archive"), environment: TestEnvironment.values)
    try await store.createBucket()
    return store
}

func removeBucket(_ store: S3Store) async throws {
    try await store.deleteAll(prefix: "")
    try await store.deleteBucket()
}
