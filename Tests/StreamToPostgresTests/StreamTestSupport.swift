import Foundation
import PinCore
import PinKafka
import PinPostgres
import Testing

/// Endpoints as the tools find them, else the local stack's fixed addresses.
enum StreamTestEnvironment {
    static var brokers: String {
        ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "127.0.0.1:19092"
    }

    static var databaseURL: String {
        ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "postgresql://postgres@127.0.0.1:15432/postgres"
    }

    /// The built `pin-stream-pg`: `PINPIPE_BIN` (a folder), else beside the test bundle.
    static var binary: String {
        if let folder = ProcessInfo.processInfo.environment["PINPIPE_BIN"], !folder.isEmpty {
            return folder + "/pin-stream-pg"
        }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On macOS the test binary sits inside an .xctest bundle.
        while folder.path.contains(".xctest") { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("pin-stream-pg").path
    }

    /// The real sample, one raw line per element.
    static func sampleLines() throws -> [String] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PinCoreTests/Fixtures/pins.jsonl").path
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
            .filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// A fresh name per test, usable as a topic, group and table name.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UInt64.random(in: 0..<UInt64.max) % 1_000_000_000_000)"
    }
}

/// One topic, group and table for one test.
struct StreamFixture {
    let topic: String
    let group: String
    let table: String
    let databaseURL: String

    init(_ prefix: String, partitions: Int = 3, databaseURL: String = StreamTestEnvironment.databaseURL) throws {
        topic = StreamTestEnvironment.uniqueName(prefix)
        group = topic + "_group"
        table = topic
        self.databaseURL = databaseURL
        try KafkaAdmin(bootstrapServers: StreamTestEnvironment.brokers).createTopic(topic, partitions: partitions)
    }

    /// A short session timeout so that, on a broker that honours it, a killed member leaves the group quickly.
    static let groupProperties = [
        "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000",
    ]

    func arguments(_ extra: [String] = []) -> [String] {
        [
            "--brokers", StreamTestEnvironment.brokers, "--topic", topic, "--group", group, "--table", table,
            "--db", databaseURL, "--max-wait", "200",
        ] + Self.groupProperties + extra
    }

    /// Runs the tool to completion.
    func run(_ extra: [String] = [], timeout: Duration = .seconds(120)) throws -> SinkRun {
        let process = try SinkProcess(arguments: arguments(extra))
        return try process.wait(timeout: timeout)
    }

    func start(_ extra: [String] = []) throws -> SinkProcess {
        try SinkProcess(arguments: arguments(extra))
    }

    // MARK: - Producing

    func producer() throws -> KafkaProducer {
        try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: StreamTestEnvironment.brokers))
    }

    /// Enqueues every message at once and waits until the broker acknowledged all of them. Messages with
    /// the same key keep their order (one partition, idempotent producer).
    func produce(_ messages: [(key: String?, value: [UInt8])], with producer: KafkaProducer? = nil) throws {
        let producer = try producer ?? self.producer()
        for message in messages {
            try producer.produce(topic: topic, key: message.key.map { Array($0.utf8) }, value: message.value)
        }
        try producer.flush(timeout: .seconds(60))
        #expect(producer.deliveryCounts.failed == 0)
    }

    /// Sends each value (keyed by `keys`, when given) and returns where each landed, in order.
    func send(_ values: [[UInt8]], keys: [String?]? = nil, with producer: KafkaProducer) async throws
        -> [DeliveryReport]
    {
        var reports: [DeliveryReport] = []
        for (index, value) in values.enumerated() {
            let key = keys?[index].map { Array($0.utf8) }
            reports.append(try await producer.send(topic: topic, key: key, value: value))
        }
        return reports
    }

    // MARK: - Reading the tables

    func connect() throws -> PostgresConnection {
        try PostgresConnection(databaseURL)
    }

    /// The stored rows by unique_id.
    func rows(_ db: PostgresConnection) throws -> [String: StoredPin] {
        let rows = try db.execute(
            """
            SELECT ind, unique_id, title, description, follower_count, poster_name, tag_list, is_image_or_video,
                   image_src, save_location, category, downloaded, kafka_partition, kafka_offset
            FROM \(PostgresConnection.quoted(identifier: table))
            """)
        var result: [String: StoredPin] = [:]
        for row in rows {
            let pin = CleanPin(
                ind: try row.int64("ind") ?? -1, uniqueID: try row.string("unique_id") ?? "",
                title: try row.string("title"), description: try row.string("description"),
                followerCount: try row.int64("follower_count"), posterName: try row.string("poster_name"),
                tagList: try row.stringArray("tag_list"), isImageOrVideo: try row.string("is_image_or_video"),
                imageSrc: try row.string("image_src"), saveLocation: try row.string("save_location"),
                category: try row.string("category") ?? "", downloaded: try row.bool("downloaded"))
            result[pin.uniqueID] = StoredPin(
                pin: pin, partition: Int32(try row.int64("kafka_partition") ?? -1),
                offset: try row.int64("kafka_offset") ?? -1)
        }
        return result
    }

    /// The dead letters by (partition, offset).
    func rejects(_ db: PostgresConnection) throws -> [Position: StoredReject] {
        let rows = try db.execute(
            """
            SELECT topic, "partition", kafka_offset, encode(raw_value, 'hex') AS raw, reason
            FROM \(PostgresConnection.quoted(identifier: table + "_rejected"))
            """)
        var result: [Position: StoredReject] = [:]
        for row in rows {
            let position = Position(
                partition: Int32(try row.int64("partition") ?? -1), offset: try row.int64("kafka_offset") ?? -1)
            result[position] = StoredReject(
                topic: try row.string("topic") ?? "", rawHex: try row.string("raw") ?? "",
                reason: try row.string("reason") ?? "")
        }
        return result
    }

    /// The next offsets stored per partition.
    func storedOffsets(_ db: PostgresConnection) throws -> [Int32: Int64] {
        let rows = try db.execute(
            "SELECT \"partition\", next_offset FROM \(PostgresConnection.quoted(identifier: table + "_offsets")) WHERE topic = $1",
            [.text(topic)])
        var result: [Int32: Int64] = [:]
        for row in rows { result[Int32(try row.int64("partition") ?? -1)] = try row.int64("next_offset") }
        return result
    }

    /// Waits (up to 10 s) until no other session of this database is open, such as the backend of
    /// a sink that was just killed and may still be committing its last transaction.
    func waitForOtherSessionsToEnd(_ db: PostgresConnection) async throws {
        let end = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < end {
            let others = try db.execute(
                """
                SELECT count(*) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                """
            ).single?.int64("n")
            if others == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// High watermark per partition.
    func endOffsets() throws -> [Int32: Int64] {
        let admin = try KafkaAdmin(bootstrapServers: StreamTestEnvironment.brokers)
        var result: [Int32: Int64] = [:]
        for partition in try admin.partitions(topic: topic) {
            result[partition] = try admin.watermarks(topic: topic, partition: partition).high
        }
        return result
    }

    /// The group's committed Kafka offsets per partition (read without joining the group).
    func committedOffsets(group: String) throws -> [Int32: Int64] {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: StreamTestEnvironment.brokers, groupID: group))
        defer { try? consumer.close() }
        let partitions = try consumer.partitions(topic: topic).map { TopicPartition(topic: topic, partition: $0) }
        var result: [Int32: Int64] = [:]
        for (partition, offset) in try consumer.committed(partitions) { result[partition.partition] = offset }
        return result
    }

    /// Waits until the stored offsets are `expected` (the tool creates the tables once it runs).
    func waitForStoredOffsets(
        _ expected: [Int32: Int64], _ db: PostgresConnection, timeout: Duration = .seconds(240)
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? storedOffsets(db)) == expected { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    func dropTables() {
        guard let db = try? connect() else { return }
        for suffix in ["", "_rejected", "_offsets"] {
            _ = try? db.execute("DROP TABLE IF EXISTS \(PostgresConnection.quoted(identifier: table + suffix))")
        }
    }
}

struct Position: Hashable, CustomStringConvertible {
    var partition: Int32
    var offset: Int64
    var description: String { "[\(partition)]@\(offset)" }
}

struct StoredPin {
    var pin: CleanPin
    var partition: Int32
    var offset: Int64
}

struct StoredReject {
    var topic: String
    var rawHex: String
    var reason: String
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0xF)])
    }
    return text
}

/// The outcome of one run of the tool.
struct SinkRun {
    var status: Int32
    var stderr: String

    /// The summary's `key=value` field, e.g. `records`.
    func summary(_ key: String) -> Int? {
        guard let line = stderr.split(separator: "\n").last(where: { $0.contains(" records_per_s=") }) else {
            return nil
        }
        for field in line.split(separator: " ") where field.hasPrefix(key + "=") {
            return Int(field.dropFirst(key.count + 1))
        }
        return nil
    }
}

/// `pin-stream-pg` running as a child process, stderr captured to a file.
final class SinkProcess {
    private let process = Process()
    private let logPath: String

    init(arguments: [String]) throws {
        logPath = NSTemporaryDirectory() + "pin-stream-pg-\(UInt64.random(in: 0..<UInt64.max)).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: StreamTestEnvironment.binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
    }

    /// A test that threw before waiting must not leave the tool running.
    deinit {
        if process.isRunning {
            signal(SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var stderr: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits until stderr contains `text`; false after `timeout` or when the process exited first.
    func waitForLog(_ text: String, timeout: Duration = .seconds(120)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stderr.contains(text) { return true }
            if !process.isRunning { return stderr.contains(text) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    var isRunning: Bool { process.isRunning }

    /// Waits for exit; kills the process and fails the test if it takes longer than `timeout`.
    func wait(timeout: Duration = .seconds(120)) throws -> SinkRun {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            signal(SIGKILL)
            process.waitUntilExit()
            Issue.record("pin-stream-pg did not finish within \(timeout); stderr:\n\(stderr)")
        }
        process.waitUntilExit()
        return SinkRun(status: process.terminationStatus, stderr: stderr)
    }
}
