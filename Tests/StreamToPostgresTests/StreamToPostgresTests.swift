import Foundation
import PinCore
import PinKafka
import PinPostgres
import Testing

/// Runs the built `pin-stream-pg` against the real broker and PostgreSQL.
@Suite struct StreamToPostgresTests {
    @Test func onceLoadsTheRealSampleAsCleaned() async throws {
        let fixture = try StreamFixture("stream_sample")
        defer { fixture.dropTables() }
        var cleaner = PinCleaner()
        var expected: [String: CleanPin] = [:]
        var messages: [(key: String?, value: [UInt8])] = []
        for line in try StreamTestEnvironment.sampleLines() {
            let raw = try RawPin(parsing: Array(line.utf8))
            messages.append((raw.uniqueID, raw.jsonBytes()))
            // Keyed by unique_id, so a later line lands later in the same partition and wins.
            expected[raw.uniqueID] = cleaner.clean(raw)
        }
        try fixture.produce(messages)

        let run = try fixture.run(["--once"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.summary("records") == messages.count)
        #expect(run.summary("rejected") == 0)

        let db = try fixture.connect()
        let stored = try fixture.rows(db)
        #expect(stored.count == expected.count)
        var mismatches = 0
        for (id, pin) in expected where stored[id]?.pin != pin {
            mismatches += 1
            if mismatches <= 5 { Issue.record("\(id): stored \(String(describing: stored[id]?.pin)), expected \(pin)") }
        }
        #expect(mismatches == 0)
        #expect(try fixture.rejects(db).isEmpty)
        #expect(try fixture.storedOffsets(db) == fixture.endOffsets())
    }

    @Test func theHighestOffsetOfAUniqueIDWins() async throws {
        let fixture = try StreamFixture("stream_update")
        defer { fixture.dropTables() }
        let producer = try fixture.producer()
        let id = UUID().uuidString.lowercased()
        let other = UUID().uuidString.lowercased()
        // v1 and v2 meet in one batch (collapsed there); v3 comes in a later run.
        let first = try await fixture.send(
            [
                pinJSON(id, index: 1, title: "v1"), pinJSON(other, index: 2, title: "other"),
                pinJSON(id, index: 1, title: "v2"),
            ],
            keys: [id, other, id], with: producer)
        let run1 = try fixture.run(["--once"])
        #expect(run1.status == 0, "\(run1.stderr)")
        #expect(run1.summary("duplicates") == 1)
        let db = try fixture.connect()
        var stored = try fixture.rows(db)
        #expect(stored.count == 2)
        #expect(stored[id]?.pin.title == "v2")
        #expect(stored[id]?.offset == first[2].offset)
        #expect(stored[id]?.partition == first[2].partition)

        let third = try await fixture.send([pinJSON(id, index: 1, title: "v3")], keys: [id], with: producer)
        let run2 = try fixture.run(["--once"])
        #expect(run2.status == 0, "\(run2.stderr)")
        #expect(run2.summary("records") == 1)
        stored = try fixture.rows(db)
        #expect(stored.count == 2)
        #expect(stored[id]?.pin.title == "v3")
        #expect(stored[id]?.offset == third[0].offset)
        #expect(stored[other]?.pin.title == "other")
    }

    @Test func poisonMessagesLandInTheDeadLetterTable() async throws {
        let fixture = try StreamFixture("stream_poison")
        defer { fixture.dropTables() }
        let producer = try fixture.producer()
        let good = UUID().uuidString.lowercased()
        let bad: [[UInt8]] = [
            Array("{not json".utf8),
            [],
            Array(#"{"index":-1,"unique_id":"\#(UUID().uuidString.lowercased())","category":"art"}"#.utf8),
            Array(#"{"index":5,"unique_id":"not-a-uuid","category":"art"}"#.utf8),
            Array(#"{"index":6,"unique_id":"\#(UUID().uuidString.lowercased())","category":"art","title":7}"#.utf8),
            Array("[1,2,3]".utf8),
            [0xFF, 0xFE, 0x7B],
        ]
        let badReports = try await fixture.send(bad, with: producer)
        let goodReport = try await fixture.send([pinJSON(good, index: 9, title: "fine")], keys: [good], with: producer)

        let run = try fixture.run(["--once"])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.summary("rejected") == bad.count)
        let db = try fixture.connect()
        let rejects = try fixture.rejects(db)
        #expect(rejects.count == bad.count)
        for (value, report) in zip(bad, badReports) {
            let position = Position(partition: report.partition, offset: report.offset)
            guard let reject = rejects[position] else {
                Issue.record("no dead letter at \(position)")
                continue
            }
            #expect(reject.topic == fixture.topic)
            #expect(reject.rawHex == hex(value))
            #expect(!reject.reason.isEmpty)
        }
        let stored = try fixture.rows(db)
        #expect(stored.count == 1)
        #expect(stored[good]?.offset == goodReport[0].offset)

        // Nothing new: nothing stored, nothing rejected, exit 0.
        let again = try fixture.run(["--once"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.summary("records") == 0)
        #expect(try fixture.rejects(db).count == bad.count)
    }

    @Test func everyRecordTakesEffectOnceAcrossKillNine() async throws {
        let fixture = try StreamFixture("stream_kill")
        defer { fixture.dropTables() }
        // 200,000 records over 3 partitions: 20,000 pins in about ten versions each, some malformed records,
        // and some PostgreSQL cannot store (a NUL in the title), each of those under a pin of its own.
        let total = 200_000
        let ids = (0..<20_000).map { _ in UUID().uuidString.lowercased() }
        var messages: [(key: String?, value: [UInt8])] = []
        messages.reserveCapacity(total)
        var latestTitle: [String: String] = [:]
        var badValues: Set<String> = []
        for number in 0..<total {
            if number % 97 == 96 {
                let value = Array("{broken \(number)".utf8)
                messages.append(("bad-\(number)", value))
                badValues.insert(hex(value))
            } else if number % 1_009 == 1_008 {
                let id = UUID().uuidString.lowercased()
                let value = pinJSON(id, index: Int64(number), title: "nul \\u0000 \(number)")
                messages.append((id, value))
                badValues.insert(hex(value))
            } else {
                let id = ids[number % ids.count]
                let title = "version \(number)"
                messages.append((id, pinJSON(id, index: Int64(number % ids.count), title: title)))
                latestTitle[id] = title
            }
        }
        // Everything is on the topic first; the sink is killed at random moments while it catches up.
        try fixture.produce(messages)
        let ends = try fixture.endOffsets()
        #expect(ends.values.reduce(0, +) == Int64(total))

        // The local broker keeps a SIGKILLed member in its group for minutes, so every restart joins a group
        // of its own. That changes nothing for the guarantee: positions come from PostgreSQL, not the group.
        let db = try fixture.connect()
        var kills = 0
        var progress: [[Int32: Int64]] = []
        let storedTotal = { ((try? fixture.storedOffsets(db)) ?? [:]).values.reduce(0, +) }
        for round in 0..<12 {
            let sink = try fixture.start(["--max-batch", "2000", "--group", "\(fixture.group)_\(round)"])
            #expect(try await sink.waitForLog("assigned"), "round \(round): \(sink.stderr)")
            // Killed once it stored up to an eighth more of the stream, plus a random moment (mid-batch,
            // mid-commit): each round makes progress however loaded the machine is, and a fast run is
            // still killed a few times before most is stored.
            let before = progress.last?.values.reduce(0, +) ?? 0
            let target = before + Int64.random(in: 1...Int64(total / 8))
            let deadline = ContinuousClock.now + .seconds(60)
            while storedTotal() < target, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(Int64.random(in: 0...150)))
            sink.signal(SIGKILL)
            let killed = try sink.wait(timeout: .seconds(30))
            #expect(killed.status == SIGKILL || killed.status == 9, "round \(round): \(killed.stderr)")
            kills += 1
            // A COMMIT the sink sent just before it died is still carried out by its backend:
            // wait for that backend to end before reading what is stored.
            try await fixture.waitForOtherSessionsToEnd(db)
            let stored = (try? fixture.storedOffsets(db)) ?? [:]
            progress.append(stored)
            // Stop once a good share is stored, so that the last run still has work left.
            if stored.values.reduce(0, +) >= Int64(total) * 3 / 5 { break }
        }
        #expect(kills >= 3, "the sink caught up too fast to be killed mid-stream: \(progress)")

        // The killed runs stored part of the stream; the last run must read exactly the rest.
        let storedBefore = try fixture.storedOffsets(db)
        #expect(!storedBefore.isEmpty, "the killed runs committed nothing")
        let left = ends.reduce(0) { $0 + Int($1.value - (storedBefore[$1.key] ?? 0)) }
        let finish = try fixture.run(["--once", "--group", "\(fixture.group)_final"], timeout: .seconds(240))
        #expect(finish.status == 0 || finish.status == 65, "\(finish.stderr)")
        #expect(finish.summary("records") == left)

        let stored = try fixture.rows(db)
        #expect(stored.count == ids.count)
        let wrong = latestTitle.filter { stored[$0.key]?.pin.title != $0.value }
        #expect(
            wrong.isEmpty,
            "\(wrong.count) unique_ids without their latest version, e.g. \(wrong.first.map { "\($0)" } ?? "")")
        let rejects = try fixture.rejects(db)
        #expect(rejects.count == badValues.count)
        #expect(Set(rejects.values.map(\.rawHex)) == badValues)
        #expect(try fixture.storedOffsets(db) == ends)

        // Rerunning adds nothing.
        let countBefore = try db.execute("SELECT max(ingested_at)::text AS t FROM \(fixture.table)").single?["t"]
        let again = try fixture.run(["--once", "--group", "\(fixture.group)_again"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.summary("records") == 0)
        #expect(try db.execute("SELECT max(ingested_at)::text AS t FROM \(fixture.table)").single?["t"] == countBefore)
        #expect(try fixture.rejects(db).count == badValues.count)
    }

    @Test func sigtermCommitsWhatWasReadAndExitsZero() async throws {
        let fixture = try StreamFixture("stream_term")
        defer { fixture.dropTables() }
        let ids = (0..<200).map { _ in UUID().uuidString.lowercased() }
        try fixture.produce(ids.enumerated().map { ($1, pinJSON($1, index: Int64($0), title: "t")) })
        let sink = try fixture.start(["--max-wait", "5000"])
        let db = try fixture.connect()
        // Wait until the sink has joined and read, then stop it well before --max-wait would commit.
        let deadline = ContinuousClock.now + .seconds(180)
        while !sink.stderr.contains("assigned"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(1_000))
        sink.signal(SIGTERM)
        let run = try sink.wait(timeout: .seconds(30))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.summary("records") == ids.count)
        #expect(try fixture.rows(db).count == ids.count)
        #expect(try fixture.storedOffsets(db) == fixture.endOffsets())
    }

    @Test func twoInstancesShareThePartitions() async throws {
        let fixture = try StreamFixture("stream_pair")
        defer { fixture.dropTables() }
        let first = try fixture.start()
        let second = try fixture.start()
        let ids = (0..<1_000).map { _ in UUID().uuidString.lowercased() }
        try fixture.produce(ids.enumerated().map { ($1, pinJSON($1, index: Int64($0), title: "pair")) })
        let ends = try fixture.endOffsets()
        let db = try fixture.connect()
        let deadline = ContinuousClock.now + .seconds(240)
        // The tool creates the tables once it runs.
        while (try? fixture.storedOffsets(db)) != ends, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        let runs = [try first.wait(timeout: .seconds(60)), try second.wait(timeout: .seconds(60))]
        for run in runs {
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("INFO pin-stream-pg: assigned ["), "\(run.stderr)")
        }
        #expect(runs.reduce(0) { $0 + ($1.summary("records") ?? 0) } == ids.count)
        #expect(try fixture.storedOffsets(db) == ends)
        #expect(try fixture.rows(db).count == ids.count)
    }

    @Test func aBatchWhoseOffsetsMovedMeanwhileIsDroppedAndReadAgain() async throws {
        let fixture = try StreamFixture("stream_fence", partitions: 1)
        defer { fixture.dropTables() }
        let ids = (0..<30).map { _ in UUID().uuidString.lowercased() }
        let messages = ids.enumerated().map { ($1 as String?, pinJSON($1, index: Int64($0), title: "fence")) }
        try fixture.produce(Array(messages[0..<10]))
        let sink = try fixture.start()
        let db = try fixture.connect()
        let deadline = ContinuousClock.now + .seconds(240)
        // The tool creates the tables once it runs.
        while (try? fixture.storedOffsets(db))?[0] != 10, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        // As if another member had stored offsets 10..14 in the meantime.
        try db.execute(
            "UPDATE \(fixture.table)_offsets SET next_offset = 15 WHERE topic = $1 AND \"partition\" = 0",
            [.text(fixture.topic)])
        try fixture.produce(Array(messages[10...]))
        while (try? fixture.storedOffsets(db))?[0] != 30, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        sink.signal(SIGTERM)
        let run = try sink.wait(timeout: .seconds(30))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("dropping the batch"), "\(run.stderr)")
        let stored = try fixture.rows(db)
        #expect(Set(stored.keys) == Set(ids[0..<10] + ids[15...]))
        #expect(try fixture.storedOffsets(db) == [0: 30])
    }

    @Test(.enabled(if: ScratchPostgres.isAvailable))
    func aPostgreSQLRestartMidStreamIsWaitedOut() async throws {
        // A server of this test's own: the shared one is never stopped.
        let server = try ScratchPostgres()
        let fixture = try StreamFixture("stream_pg_restart", databaseURL: server.url)
        let ids = (0..<500).map { _ in UUID().uuidString.lowercased() }
        var latestTitle: [String: String] = [:]
        func versions(_ range: Range<Int>) -> [(key: String?, value: [UInt8])] {
            range.map { number in
                let id = ids[number % ids.count]
                latestTitle[id] = "version \(number)"
                return (id, pinJSON(id, index: Int64(number % ids.count), title: "version \(number)"))
            }
        }
        try fixture.produce(versions(0..<2_000))
        let sink = try fixture.start()
        let db = try fixture.connect()
        let before = try fixture.endOffsets()
        #expect(try await fixture.waitForStoredOffsets(before, db), "\(sink.stderr)")
        // The group's Kafka offsets follow PostgreSQL's within a few seconds.
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? fixture.committedOffsets(group: fixture.group)) != before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try fixture.committedOffsets(group: fixture.group) == before)

        // Down while records keep arriving: the sink waits, says so, and no offset moves.
        try server.stop()
        try fixture.produce(versions(2_000..<4_000))
        #expect(try await sink.waitForLog("PostgreSQL unavailable while committing a batch", timeout: .seconds(60)))
        try await Task.sleep(for: .seconds(3))
        #expect(sink.isRunning, "\(sink.stderr)")
        #expect(try fixture.committedOffsets(group: fixture.group) == before)

        // Back up: it resumes by itself, and every record takes effect once.
        try server.start()
        let ends = try fixture.endOffsets()
        let reconnected = try fixture.connect()
        #expect(try await fixture.waitForStoredOffsets(ends, reconnected), "\(sink.stderr)")
        #expect(sink.stderr.contains("PostgreSQL is reachable again"), "\(sink.stderr)")
        sink.signal(SIGTERM)
        let run = try sink.wait(timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.summary("records") == 4_000)
        let stored = try fixture.rows(reconnected)
        #expect(stored.count == ids.count)
        #expect(latestTitle.allSatisfy { stored[$0.key]?.pin.title == $0.value })
        #expect(try fixture.rejects(reconnected).isEmpty)

        // With --once it gives up after --max-retry-time and exits 69, storing nothing. It is paused while the
        // server stops, so that the outage surely falls between reading and committing.
        try fixture.produce(versions(4_000..<34_000))
        let once = try fixture.start([
            "--once", "--max-batch", "100000", "--max-wait", "600000", "--max-retry-time", "2", "--group",
            fixture.group + "_once",
        ])
        #expect(try await once.waitForLog("assigned"), "\(once.stderr)")
        once.signal(SIGSTOP)
        try server.stop()
        once.signal(SIGCONT)
        let gaveUp = try once.wait(timeout: .seconds(120))
        #expect(gaveUp.status == 69, "\(gaveUp.stderr)")
        #expect(gaveUp.stderr.contains("giving up"), "\(gaveUp.stderr)")
        try server.start()
        #expect(try fixture.storedOffsets(try fixture.connect()) == ends)
    }

    @Test func onceGivesUpWith69WhenPostgreSQLStaysDown() async throws {
        let fixture = try StreamFixture("stream_down", partitions: 1)
        let run = try fixture.run([
            "--once", "--max-retry-time", "1", "--db", "postgresql://postgres@127.0.0.1:1/postgres",
        ])
        #expect(run.status == 69, "\(run.stderr)")
        #expect(run.stderr.contains("PostgreSQL unavailable while connecting (attempt 1)"))
    }
}

/// A valid raw pin as compact JSON.
func pinJSON(_ id: String, index: Int64, title: String) -> [UInt8] {
    Array(
        #"{"index":\#(index),"unique_id":"\#(id)","category":"art","title":"\#(title)","follower_count":"1.5k"}"#.utf8)
}
