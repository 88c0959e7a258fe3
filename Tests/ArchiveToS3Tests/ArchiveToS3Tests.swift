import Foundation
import PinArchive
import PinCompression
import PinKafka
import PinObjectStore
import Testing

/// End-to-end: the built pin-consume-s3 against the broker and S3 of the environment.
@Suite struct ArchiveToS3Tests {
    /// Fast group rebalancing after a killed member, and small objects so there are many of them.
    let fastGroup = [
        "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500", "-X", "max.poll.interval.ms=8000",
    ]

    @Test func onceIntoADirectory() async throws {
        let topic = try makeTopic()
        try produce(topic: topic, range: 0..<3000, producer: try makeProducer())
        let directory = NSTemporaryDirectory() + uniqueName("archive-dir")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, log) = try await runTool(
            [
                "--dest", directory, "--topic", topic, "--group", uniqueName("g"), "--once", "--flush-records", "400",
                "--log-level", "debug",
            ] + fastGroup)
        #expect(status == 0, "\(log)")
        #expect(log.contains("3000 records"), "\(log)")
        // Fetch requested while the group join was under way, read from the leader.
        #expect(log.contains("reading ahead while joining the group"), "\(log)")
        #expect(log.contains("[2]: reading 0..<1000 from the leader"), "\(log)")
        let names = try await verifyArchive(
            store: LocalDirectoryStore(root: directory), prefix: "", topic: topic, count: 3000)
        #expect(names.count == 9)  // 1000 per partition in runs of 400
        let today = ArchiveObjectName.date(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        #expect(names.allSatisfy { $0.date == today })
        #expect(names.contains(ArchiveObjectName(topic: topic, partition: 1, firstOffset: 800, date: today)))
    }

    @Test func onceWithZstdWritesCompressedObjects() async throws {
        let topic = try makeTopic()
        try produce(topic: topic, range: 0..<1500, producer: try makeProducer())
        let directory = NSTemporaryDirectory() + uniqueName("archive-zstd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, log) = try await runTool(
            [
                "--dest", directory, "--topic", topic, "--group", uniqueName("g"), "--once", "--flush-records", "200",
                "--compression", "zstd",
            ] + fastGroup)
        #expect(status == 0, "\(log)")
        let store = LocalDirectoryStore(root: directory)
        let keys = try await store.list(prefix: ArchiveObjectName.topicFolder(prefix: "", topic: topic)).map(\.key)
        #expect(keys.count == 9)  // 500 per partition in runs of 200
        #expect(keys.allSatisfy { $0.hasSuffix(".jsonl.zst") }, "\(keys)")
        // Every offset exactly once, in order, each line the value as produced.
        let names = try await verifyArchive(store: store, prefix: "", topic: topic, count: 1500)
        #expect(names.allSatisfy { $0.format == .zstd })
        for name in names {
            let stored = try await store.get(name.key(prefix: ""))
            #expect(StreamFormat(magic: stored) == .zstd)
            let lines = try Decompressor.decompress(stored, format: .zstd).split(separator: 0x0A).map {
                String(decoding: $0, as: UTF8.self)
            }
            let expected = lines.indices.map { index in
                let seq = (Int(name.firstOffset) + index) * 3 + Int(name.partition)
                return "{\"seq\":\(seq),\"text\":\"pin number \(seq)\"}"
            }
            #expect(lines == expected, "\(name.fileName)")
        }
    }

    @Test func onceIntoS3ThenAgainPicksUpOnlyNewMessages() async throws {
        let topic = try makeTopic()
        let producer = try makeProducer()
        try produce(topic: topic, range: 0..<1500, producer: producer)
        let bucket = try await makeBucket()
        let group = uniqueName("g")
        let arguments =
            ["--dest", "s3://\(bucket.bucket)/raw", "--topic", topic, "--group", group, "--once"] + fastGroup
        let first = try await runTool(arguments)
        #expect(first.status == 0, "\(first.log)")
        try produce(topic: topic, range: 1500..<2100, producer: producer)
        let second = try await runTool(arguments)
        #expect(second.status == 0, "\(second.log)")
        #expect(second.log.contains("600 records"), "\(second.log)")
        let names = try await verifyArchive(store: bucket, prefix: "raw/", topic: topic, count: 2100)
        #expect(names.count == 6)
        try await removeBucket(bucket)
    }

    /// Values are archived raw, one per line: a value that is not JSON is kept and counted, a
    /// newline inside a value becomes a space so the line structure holds.
    @Test func oddValuesKeepOneLinePerMessage() async throws {
        let topic = try makeTopic(partitions: 1)
        let producer = try makeProducer()
        for value in ["{\"seq\":0}", "not json, seq 1", "{\n\"seq\":2}", ""] {
            try producer.produce(topic: topic, partition: 0, key: nil, value: Array(value.utf8))
        }
        try producer.flush(timeout: .seconds(30))
        let directory = NSTemporaryDirectory() + uniqueName("archive-odd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, log) = try await runTool([
            "--dest", directory, "--topic", topic, "--group", uniqueName("g"), "--once",
        ])
        #expect(status == 0, "\(log)")
        #expect(log.contains("4 records, 1 objects"), "\(log)")
        #expect(log.contains("2 invalid values, 1 values with newlines"), "\(log)")
        let store = LocalDirectoryStore(root: directory)
        let keys = try await store.list(prefix: "").map(\.key)
        #expect(keys.count == 1)
        let text = String(decoding: try await store.get(keys[0]), as: UTF8.self)
        #expect(text == "{\"seq\":0}\nnot json, seq 1\n{ \"seq\":2}\n\n")
    }

    /// SIGTERM flushes the open buffers (long before --flush-interval), commits and exits 0.
    @Test func sigtermFlushesAndExitsZero() async throws {
        let topic = try makeTopic()
        try produce(topic: topic, range: 0..<900, producer: try makeProducer())
        let directory = NSTemporaryDirectory() + uniqueName("archive-term")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try ToolRun([
            "--dest", directory, "--topic", topic, "--group", uniqueName("g"), "--flush-interval", "600",
        ])
        let deadline = ContinuousClock.now + .seconds(60)
        while !run.log.contains("assigned"), run.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(2))
        kill(run.process.processIdentifier, SIGTERM)
        let status = try await run.wait()
        #expect(status == 0, "\(run.log)")
        #expect(run.log.contains("900 records, 3 objects"), "\(run.log)")
        _ = try await verifyArchive(store: LocalDirectoryStore(root: directory), prefix: "", topic: topic, count: 900)
    }

    /// A second member joins while the first works through a backlog: the first revokes
    /// (flushing and committing), batches caught by the rebalance are dropped and fetched again,
    /// and between them the two archive every offset exactly once.
    @Test func aMemberJoiningMidStreamLeavesEveryOffsetInOneObject() async throws {
        let backlog = try Backlog(count: 30_000, options: fastGroup)
        defer { backlog.removeDirectory() }
        let first = try ToolRun(backlog.arguments)
        let deadline = ContinuousClock.now + .seconds(60)
        try await first.waitForLog("assigned", until: deadline)
        let second = try ToolRun(backlog.arguments)
        try await backlog.waitUntilArchived(until: deadline)
        kill(first.process.processIdentifier, SIGTERM)
        kill(second.process.processIdentifier, SIGTERM)
        #expect(try await first.wait() == 0, "\(first.log)")
        #expect(try await second.wait() == 0, "\(second.log)")
        #expect(second.log.contains("assigned"), "\(second.log)")
        _ = try await verifyArchive(store: backlog.store, prefix: "", topic: backlog.topic, count: backlog.count)
    }

    /// A member assigned a backlog reads it from the leaders (holding one record batch at a time,
    /// not the backlog), then its own consumer reads on from the end offset seen at assignment:
    /// messages written afterwards are archived too, every offset exactly once.
    @Test func aBacklogIsReadFromTheLeaderThenTheMemberReadsOn() async throws {
        let backlog = try Backlog(count: 36_000, options: fastGroup)
        defer { backlog.removeDirectory() }
        let member = try ToolRun(backlog.arguments)
        let deadline = ContinuousClock.now + .seconds(90)
        try await backlog.waitUntilArchived(until: deadline)
        try produce(topic: backlog.topic, range: 36_000..<36_300, producer: try makeProducer())
        try await backlog.waitUntilArchived(total: 36_300, until: deadline)
        kill(member.process.processIdentifier, SIGTERM)
        #expect(try await member.wait() == 0, "\(member.log)")
        #expect(member.log.contains("[1]: reading 0..<12000 from the leader"), "\(member.log)")
        #expect(member.log.contains("[1]: the group's consumer reads on from 12000"), "\(member.log)")
        _ = try await verifyArchive(store: backlog.store, prefix: "", topic: backlog.topic, count: 36_300)
    }

    /// A --once run joins a group whose member is working through a backlog: it reads every
    /// partition ahead while joining, takes only those assigned to it (each from where the archive
    /// then ends), and exits; the member takes them back. Every offset is in one object.
    @Test func aOnceRunBesideAWorkingMemberTakesOnlyItsPartitions() async throws {
        let backlog = try Backlog(count: 30_000, options: fastGroup)
        defer { backlog.removeDirectory() }
        let member = try ToolRun(backlog.arguments)
        let deadline = ContinuousClock.now + .seconds(90)
        try await member.waitForLog("assigned", until: deadline)
        let once = try await runTool(backlog.arguments + ["--once"])
        #expect(once.status == 0, "\(once.log)")
        #expect(once.log.contains("reading ahead while joining"), "\(once.log)")
        #expect(once.log.contains("reached the end offsets"), "\(once.log)")
        try await backlog.waitUntilArchived(until: deadline)
        kill(member.process.processIdentifier, SIGTERM)
        #expect(try await member.wait() == 0, "\(member.log)")
        _ = try await verifyArchive(store: backlog.store, prefix: "", topic: backlog.topic, count: backlog.count)
    }

    @Test func missingBucketExits69() async throws {
        let topic = try makeTopic()
        let (status, log) = try await runTool(
            ["--dest", "s3://\(uniqueName("no-such-bucket"))/raw", "--topic", topic, "--once"])
        #expect(status == 69, "\(log)")
        #expect(log.contains("NoSuchBucket") || log.lowercased().contains("bucket"), "\(log)")
    }

    /// SIGKILL the consumer again and again at random moments while 100,000 messages flow over
    /// three partitions, restarting it each time, then finish with --once: every offset of every
    /// partition is in exactly one object, and the objects of a partition never overlap. Into S3
    /// (one object at a time) and into a directory (several written and synced at once, renamed
    /// in order).
    @Test(.timeLimit(.minutes(3)), arguments: ["s3", "directory"])
    func killedAtRandomMomentsArchivesEveryOffsetExactlyOnce(destination: String) async throws {
        let topic = try makeTopic()
        let bucket = try await makeBucket()
        let directory = NSTemporaryDirectory() + uniqueName("archive-kill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (store, dest, prefix): (any ObjectStore, String, String) =
            destination == "s3"
            ? (bucket, "s3://\(bucket.bucket)/raw", "raw/") : (LocalDirectoryStore(root: directory), directory, "")
        let total = 100_000
        // noida-db keeps a SIGKILLed member in its group for over a minute, so every restart joins
        // under a fresh group id: the restarted consumer then starts from the stored objects alone,
        // the harder case for recovery (a committed offset only narrows the objects it looks at).
        func arguments(_ run: Int) -> [String] {
            [
                "--dest", dest, "--topic", topic, "--group", "\(topic)-\(run)",
                "--flush-records", "997", "--flush-interval", "0.3",
            ] + fastGroup
        }
        // About 20 s of traffic in bursts of 1,000, so the kills land while messages arrive.
        let published = Flag()
        let producing = Task.detached {
            defer { published.set() }
            let producer = try makeProducer()
            for batch in stride(from: 0, to: total, by: 1000) {
                try produce(topic: topic, range: batch..<min(total, batch + 1000), producer: producer)
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        var kills = 0
        var resumedFromObjects = 0
        var attempt = 0
        // At least 8 kills, and on until every message is published.
        while kills < 8 || !published.isSet {
            let run = try ToolRun(arguments(attempt))
            attempt += 1
            try await Task.sleep(for: .milliseconds(Int64.random(in: 1000...3500)))
            guard run.process.isRunning else {
                Issue.record("consumer exited early: \(run.log)")
                break
            }
            try await run.killHard()
            kills += 1
            if run.log.contains("resuming at") { resumedFromObjects += 1 }
        }
        try await producing.value
        let final = try await runTool(arguments(attempt) + ["--once", "--log-level", "debug"])
        #expect(final.status == 0, "\(final.log)")
        // Read ahead from where the stored objects end, before the join was done.
        #expect(final.log.contains("reading ahead while joining the group"), "\(final.log)")
        #expect(final.log.contains("reached the end offsets"), "\(final.log)")
        #expect(kills >= 8)
        // Restarts found the stored objects and started after them.
        #expect(resumedFromObjects >= kills / 2, "\(resumedFromObjects) of \(kills) restarts resumed from objects")
        let names = try await verifyArchive(store: store, prefix: prefix, topic: topic, count: total)
        #expect(names.count > 3)
        try await removeBucket(bucket)
    }
}
