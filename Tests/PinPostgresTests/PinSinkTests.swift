import Foundation
import Testing

@testable import PinPostgres

extension PinPostgresTests {
    @Suite struct PinSinkTests {
        func makeSink(_ db: PostgresConnection) throws -> PinSink {
            let sink = try PinSink(connection: db, table: TestDatabase.uniqueName("pins"))
            try sink.createTablesIfMissing()
            try sink.createTablesIfMissing()  // idempotent
            return sink
        }

        func drop(_ sink: PinSink) {
            _ = try? sink.connection.executeScript(
                "DROP TABLE IF EXISTS \(sink.table), \(sink.table)_rejected, \(sink.table)_offsets")
        }

        func pin(_ id: String, partition: Int32, offset: Int64, title: String? = nil, category: String = "travel")
            -> PinRow
        {
            PinRow(
                ind: offset, uniqueID: id, title: title, description: "d\t\(id)", followerCount: 1500, posterName: "p",
                tagList: ["a", "b,c", "NULL"], isImageOrVideo: "image", imageSrc: "https://x/\(id).jpg",
                saveLocation: "/data/\(category)", category: category, downloaded: true, kafkaPartition: partition,
                kafkaOffset: offset, rawValue: Array("{\"unique_id\":\"\(id)\"}".utf8))
        }

        /// Binary COPY for the table the sink creates; text COPY, which PostgreSQL converts, for a table made
        /// with other column types, and both store the same rows (upserts included).
        @Test func aTableMadeWithOtherTypesIsWrittenWithTextCopy() throws {
            let db = try TestDatabase.connect()
            let own = try makeSink(db)
            defer { drop(own) }
            #expect(own.copyFormat == .binary)

            let sink = try PinSink(connection: db, table: TestDatabase.uniqueName("pins"))
            defer { drop(sink) }
            try db.execute(
                """
                CREATE TABLE \(sink.table) (ind integer, unique_id varchar(64) PRIMARY KEY, title text,
                    description text, follower_count numeric, poster_name text, tag_list varchar[],
                    is_image_or_video text, image_src text, save_location text, category text, downloaded boolean,
                    kafka_partition bigint, kafka_offset bigint, ingested_at timestamptz)
                """)
            try sink.createTablesIfMissing()
            #expect(sink.copyFormat == .text)

            for target in [own, sink] {
                let topic = TestDatabase.uniqueName("topic")
                for (offset, title) in ["first", "second"].enumerated() {
                    let rows = [pin("a", partition: 0, offset: Int64(offset), title: title)]
                    try target.commit(
                        PinSink.Batch(
                            topic: topic, rows: PinRowBatch(rows, format: target.copyFormat),
                            nextOffsets: [0: Int64(offset + 1)]))
                }
                let stored = try db.execute(
                    "SELECT title, tag_list::text[] AS tags, follower_count::bigint AS followers FROM \(target.table)")
                #expect(stored.count == 1)
                #expect(try stored[0].string("title") == "second")
                #expect(try stored[0].stringArray("tags") == ["a", "b,c", "NULL"])
                #expect(try stored[0].int64("followers") == 1500)
            }
        }

        @Test func batchCollapsesDuplicatesAndStoresRejectsAndOffsetsTogether() throws {
            let db = try TestDatabase.connect()
            let sink = try makeSink(db)
            defer { drop(sink) }
            let topic = TestDatabase.uniqueName("topic")

            var nul = pin("n", partition: 1, offset: 2, title: "has\u{0}nul")
            nul.rawValue = [0x7B, 0x00, 0xFF, 0x7D]  // NUL and invalid UTF-8 survive in bytea
            let batch = PinSink.Batch(
                topic: topic,
                rows: [
                    pin("a", partition: 0, offset: 0, title: "first"),
                    pin("b", partition: 0, offset: 1),
                    pin("a", partition: 0, offset: 2, title: "second"),
                    pin("c", partition: 1, offset: 0),
                    nul,
                    pin("a", partition: 1, offset: 3, title: "last consumed"),
                ],
                rejects: [
                    PinReject(partition: 0, offset: 3, rawValue: Array("not json".utf8), reason: "malformed JSON"),
                    PinReject(partition: 1, offset: 1, rawValue: [], reason: "reason with \u{0} NUL"),
                ],
                nextOffsets: [0: 4, 1: 4])
            let result = try sink.commit(batch)
            #expect(result.rowsWritten == 3)
            #expect(result.duplicatesCollapsed == 2)
            #expect(result.rejectsWritten == 3)
            #expect(result.unstorable.map(\.offset) == [2])
            #expect(result.unstorable.first?.reason.contains("\"title\"") == true)

            let rows = try db.execute(
                "SELECT unique_id, title, description, tag_list, follower_count, downloaded, kafka_partition, kafka_offset, "
                    + "ingested_at IS NOT NULL AS stamped FROM \(sink.table) ORDER BY unique_id")
            #expect(try rows.map { try $0.string("unique_id") } == ["a", "b", "c"])
            #expect(try rows[0].string("title") == "last consumed")
            #expect(try rows[0].int64("kafka_partition") == 1)
            #expect(try rows[0].int64("kafka_offset") == 3)
            #expect(try rows[0].string("description") == "d\ta")
            #expect(try rows[0].stringArray("tag_list") == ["a", "b,c", "NULL"])
            #expect(try rows[0].int64("follower_count") == 1500)
            #expect(try rows[0].bool("downloaded") == true)
            #expect(try rows[0].bool("stamped") == true)

            let rejects = try db.execute(
                "SELECT topic, \"partition\", kafka_offset, encode(raw_value, 'hex') AS raw, reason FROM \(sink.table)_rejected "
                    + "ORDER BY \"partition\", kafka_offset")
            #expect(try rejects.map { try $0.int64("kafka_offset") } == [3, 1, 2])
            #expect(try rejects.allSatisfy { try $0.string("topic") == topic })
            #expect(try rejects[0].string("raw") == "6e6f74206a736f6e")
            #expect(try rejects[1].string("reason") == "reason with \\0 NUL")
            #expect(try rejects[2].string("raw") == "7b00ff7d")
            #expect(try sink.storedOffsets(topic: topic) == [0: 4, 1: 4])
            #expect(try sink.storedOffsets(topic: topic + "-other") == [:])

            // The next batch overwrites (last write wins) and advances the offsets.
            let next = try sink.commit(
                PinSink.Batch(
                    topic: topic, rows: [pin("b", partition: 0, offset: 4, title: "updated")], nextOffsets: [0: 5],
                    expectedOffsets: [0: 4]))
            #expect(
                next == PinSink.CommitResult(rowsWritten: 1, duplicatesCollapsed: 0, rejectsWritten: 0, unstorable: []))
            #expect(
                try db.execute("SELECT title FROM \(sink.table) WHERE unique_id = 'b'")[0].string("title") == "updated")
            #expect(try sink.storedOffsets(topic: topic) == [0: 5, 1: 4])
        }

        @Test func newRowsAreCopiedAndExistingOnesUpdatedInOneBatch() throws {
            let db = try TestDatabase.connect()
            let sink = try makeSink(db)
            defer { drop(sink) }
            let topic = TestDatabase.uniqueName("topic")
            try sink.commit(
                PinSink.Batch(
                    topic: topic, rows: [pin("old", partition: 0, offset: 0, title: "v1")], nextOffsets: [0: 1]))
            let result = try sink.commit(
                PinSink.Batch(
                    topic: topic,
                    rows: [
                        pin("new", partition: 0, offset: 1, title: "first"),
                        pin("old", partition: 0, offset: 2, title: "v2"),
                        pin("new", partition: 0, offset: 3, title: "second"),
                    ],
                    nextOffsets: [0: 4], expectedOffsets: [0: 1]))
            #expect(result.rowsWritten == 2)
            #expect(result.duplicatesCollapsed == 1)
            let rows = try db.execute("SELECT unique_id, title, kafka_offset FROM \(sink.table) ORDER BY unique_id")
            #expect(try rows.map { try $0.string("title") } == ["second", "v2"])
            #expect(try rows.map { try $0.int64("kafka_offset") } == [3, 2])
        }

        @Test func aRowInsertedMeanwhileByAnotherWriterIsUpserted() throws {
            let db = try TestDatabase.connect()
            nonisolated(unsafe) let other = try TestDatabase.connect()
            let sink = try makeSink(db)
            defer { drop(sink) }
            let topic = TestDatabase.uniqueName("topic")
            // Another writer holds an uncommitted row with the same unique_id: the sink's COPY waits for it and
            // fails on the primary key once it commits; the batch is then stored again as an upsert.
            try other.execute("BEGIN")
            try other.execute(
                "INSERT INTO \(sink.table) (unique_id, category, title) VALUES ('race', 'art', 'theirs')")
            let committer = Thread {
                Thread.sleep(forTimeInterval: 0.5)
                _ = try? other.execute("COMMIT")
            }
            committer.start()
            let result = try sink.commit(
                PinSink.Batch(
                    topic: topic, rows: [pin("race", partition: 0, offset: 0, title: "ours")], nextOffsets: [0: 1]))
            #expect(result.rowsWritten == 1)
            #expect(
                try db.execute("SELECT title FROM \(sink.table) WHERE unique_id = 'race'")[0].string("title") == "ours")
            #expect(try sink.storedOffsets(topic: topic) == [0: 1])
        }

        @Test func failedCommitLeavesNothing() throws {
            let db = try TestDatabase.connect()
            let sink = try makeSink(db)
            defer { drop(sink) }
            let topic = TestDatabase.uniqueName("topic")
            try sink.commit(
                PinSink.Batch(topic: topic, rows: [pin("keep", partition: 0, offset: 0)], nextOffsets: [0: 1]))
            // Make the upsert fail after the COPY has run.
            try db.execute("ALTER TABLE \(sink.table) ADD CONSTRAINT no_boom CHECK (category <> 'boom')")

            let failing = PinSink.Batch(
                topic: topic,
                rows: [pin("x", partition: 0, offset: 1), pin("y", partition: 0, offset: 2, category: "boom")],
                rejects: [PinReject(partition: 0, offset: 3, rawValue: [1], reason: "bad")], nextOffsets: [0: 4])
            do {
                try sink.commit(failing)
                Issue.record("commit violating a check constraint succeeded")
            } catch let error as PostgresError {
                #expect(error.sqlState == "23514")
            }
            #expect(!db.inTransaction)
            #expect(
                try db.execute("SELECT unique_id FROM \(sink.table)").map { try $0.string("unique_id") } == ["keep"])
            #expect(try db.execute("SELECT count(*) AS c FROM \(sink.table)_rejected")[0].int64("c") == 0)
            #expect(try sink.storedOffsets(topic: topic) == [0: 1])

            // The same connection commits the next batch (staging table empty again).
            try db.execute("ALTER TABLE \(sink.table) DROP CONSTRAINT no_boom")
            let retried = try sink.commit(failing)
            #expect(retried.rowsWritten == 2)
            #expect(try sink.storedOffsets(topic: topic) == [0: 4])
        }

        @Test func staleConsumerIsFencedByStoredOffsets() throws {
            let db = try TestDatabase.connect()
            let sink = try makeSink(db)
            defer { drop(sink) }
            let topic = TestDatabase.uniqueName("topic")
            try sink.commit(
                PinSink.Batch(
                    topic: topic, rows: [pin("a", partition: 0, offset: 0)], nextOffsets: [0: 1],
                    expectedOffsets: [0: 0]))
            do {
                // A consumer that still thinks partition 0 starts at 0 (it lost the partition meanwhile).
                try sink.commit(
                    PinSink.Batch(
                        topic: topic, rows: [pin("a", partition: 0, offset: 0, title: "stale")], nextOffsets: [0: 1],
                        expectedOffsets: [0: 0]))
                Issue.record("stale batch was committed")
            } catch let conflict as PinSink.OffsetConflict {
                #expect(conflict.partition == 0)
                #expect(conflict.stored == 1)
                #expect(conflict.expected == 0)
            }
            #expect(try db.execute("SELECT title FROM \(sink.table)")[0].string("title") == nil)
        }

        @Test func commitRetriesAcrossALostConnection() throws {
            var options = PostgresConnection.Options()
            options.initialBackoff = .milliseconds(10)
            let db = try TestDatabase.connect(options: options)
            let admin = try TestDatabase.connect()
            let sink = try makeSink(db)
            defer { drop(sink) }
            let topic = TestDatabase.uniqueName("topic")
            try sink.commit(PinSink.Batch(topic: topic, rows: [pin("a", partition: 0, offset: 0)], nextOffsets: [0: 1]))

            // The session's temporary staging table goes with the connection; the retry must recreate it.
            try admin.execute("SELECT pg_terminate_backend($1)", [.int(Int64(db.backendPID))])
            let batch = PinSink.Batch(
                topic: topic, rows: [pin("b", partition: 0, offset: 1)], nextOffsets: [0: 2], expectedOffsets: [0: 1])
            var attempts = 0
            let result = try db.retrying { _ in
                attempts += 1
                return try sink.commit(batch)
            }
            #expect(attempts == 2)
            #expect(result.rowsWritten == 1)
            #expect(try sink.storedOffsets(topic: topic) == [0: 2])
            #expect(try db.execute("SELECT count(*) AS c FROM \(sink.table)")[0].int64("c") == 2)
        }

        @Test func batchesInsideOneOuterTransaction() throws {
            let db = try TestDatabase.connect()
            let sink = try makeSink(db)
            defer { drop(sink) }
            let topic = TestDatabase.uniqueName("topic")
            try db.transaction { _ in
                try sink.commit(
                    PinSink.Batch(
                        topic: topic,
                        rows: [pin("a", partition: 0, offset: 0, title: "one"), pin("x", partition: 0, offset: 1)],
                        nextOffsets: [0: 2]))
                try sink.commit(
                    PinSink.Batch(
                        topic: topic, rows: [pin("a", partition: 0, offset: 2, title: "two")], nextOffsets: [0: 3]))
            }
            #expect(try db.execute("SELECT title FROM \(sink.table) WHERE unique_id = 'a'")[0].string("title") == "two")
            #expect(try db.execute("SELECT count(*) AS c FROM \(sink.table)")[0].int64("c") == 2)
            #expect(try sink.storedOffsets(topic: topic) == [0: 3])
        }

        @Test func rejectsUnsafeTableNames() {
            #expect(throws: PostgresError.self) {
                try PinSink(connection: try TestDatabase.connect(), table: "pins; DROP TABLE x")
            }
            #expect(throws: PostgresError.self) { try PinSink(connection: try TestDatabase.connect(), table: "1pins") }
        }
    }
}
