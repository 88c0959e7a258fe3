/// Writes cleaned pins from a Kafka topic into PostgreSQL with exactly-once effect: each batch's rows, its
/// rejects and the next offset per partition are stored in one transaction, so the consumer resumes from
/// `storedOffsets(topic:)` after a crash or rebalance and never applies a record twice or loses one.
///
/// Tables (created by `createTablesIfMissing()`), for `table` = `pins`:
/// - `pins`: the clean columns, `unique_id` primary key, `kafka_partition`, `kafka_offset`, `ingested_at`;
/// - `pins_rejected`: dead letters (topic, partition, kafka_offset, raw_value bytea, reason, rejected_at);
/// - `pins_offsets`: next offset to consume per (topic, partition).
public final class PinSink {
    public let connection: PostgresConnection
    public let table: String

    /// `table` must be a plain SQL identifier (letters, digits, `_`) short enough for the derived names.
    public init(connection: PostgresConnection, table: String = "pins") throws(PostgresError) {
        let allowed = table.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }
        guard allowed, let first = table.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")),
            table.utf8.count + "_rejected".utf8.count <= 63
        else {
            throw PostgresError(
                kind: .invalidValue,
                message:
                    "table name must be letters, digits and underscores, not start with a digit, at most 54 characters")
        }
        self.connection = connection
        self.table = table
    }

    /// What one `commit` stores.
    public struct Batch: Sendable {
        public var topic: String
        /// Rows in consumption order, already encoded; for a `unique_id` that occurs more than once the last
        /// one wins.
        public var rows: PinRowBatch
        public var rejects: [PinReject]
        /// Per partition: the offset after the last message this batch consumed.
        public var nextOffsets: [Int32: Int64]
        /// Per partition: where this batch started reading (the stored next offset it expects). When the table
        /// holds a different next offset for such a partition, another consumer has moved on, and `commit`
        /// throws `OffsetConflict` without writing anything. Partitions missing here, or not yet stored, are not checked.
        public var expectedOffsets: [Int32: Int64]

        public init(
            topic: String, rows: PinRowBatch, rejects: [PinReject] = [], nextOffsets: [Int32: Int64] = [:],
            expectedOffsets: [Int32: Int64] = [:]
        ) {
            self.topic = topic
            self.rows = rows
            self.rejects = rejects
            self.nextOffsets = nextOffsets
            self.expectedOffsets = expectedOffsets
        }

        public init(
            topic: String, rows: [PinRow] = [], rejects: [PinReject] = [], nextOffsets: [Int32: Int64] = [:],
            expectedOffsets: [Int32: Int64] = [:]
        ) {
            self.init(
                topic: topic, rows: PinRowBatch(rows), rejects: rejects, nextOffsets: nextOffsets,
                expectedOffsets: expectedOffsets)
        }
    }

    public struct CommitResult: Sendable, Equatable {
        /// Rows inserted or updated in the table (one per distinct `unique_id`).
        public var rowsWritten: Int64
        /// Rows dropped because a later row in the same batch had the same `unique_id`.
        public var duplicatesCollapsed: Int64
        /// Dead letters added: the batch's rejects plus unstorable rows (already stored ones are not counted).
        public var rejectsWritten: Int64
        /// Rows PostgreSQL cannot store (NUL bytes in text), turned into dead letters by `commit`.
        public var unstorable: [PinReject]
    }

    /// Thrown by `commit` when a partition's stored next offset is not the one the batch expected.
    public struct OffsetConflict: Error, Sendable, CustomStringConvertible {
        public var topic: String
        public var partition: Int32
        public var expected: Int64
        public var stored: Int64

        public var description: String {
            "partition \(partition) of \(topic): stored next offset is \(stored), batch expected \(expected); "
                + "another consumer has committed, resume from the stored offset"
        }
    }

    private var pins: String { PostgresConnection.quoted(identifier: table) }
    private var rejected: String { PostgresConnection.quoted(identifier: table + "_rejected") }
    private var offsets: String { PostgresConnection.quoted(identifier: table + "_offsets") }
    private var staging: String { "pg_temp." + PostgresConnection.quoted(identifier: table + "_staging") }

    /// How batches for this table should be encoded (`PinRowBatch(format:)`): binary COPY, which costs the
    /// server less, when the table's data columns have the types `createTablesIfMissing()` gives them; text
    /// COPY, which PostgreSQL converts to any compatible type, for a table made otherwise (say `ind integer`).
    /// Set by `createTablesIfMissing()`.
    public private(set) var copyFormat = CopyFormat.binary

    /// Creates the three tables if they do not exist (safe when several instances start at once), and
    /// chooses `copyFormat` from the table's column types.
    public func createTablesIfMissing() throws {
        try createTables()
        let columns = try connection.execute(
            """
            SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
            """, [.text(pins)])
        var types: [String: String] = [:]
        for column in columns {
            if let name = try column.string("attname") { types[name] = try column.string("type") }
        }
        copyFormat = PinRow.columnTypes.allSatisfy { types[$0.name] == $0.type } ? .binary : .text
    }

    private func createTables() throws {
        try connection.transaction { db in
            // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog; serialize it.
            try db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", [.text("pinpipe schema " + table)])
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS \(pins) (
                    ind bigint,
                    unique_id text PRIMARY KEY,
                    title text,
                    description text,
                    follower_count bigint,
                    poster_name text,
                    tag_list text[],
                    is_image_or_video text,
                    image_src text,
                    save_location text,
                    category text,
                    downloaded boolean,
                    kafka_partition int,
                    kafka_offset bigint,
                    ingested_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS \(rejected) (
                    topic text NOT NULL,
                    "partition" int NOT NULL,
                    kafka_offset bigint NOT NULL,
                    raw_value bytea,
                    reason text NOT NULL,
                    rejected_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (topic, "partition", kafka_offset)
                )
                """)
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS \(offsets) (
                    topic text NOT NULL,
                    "partition" int NOT NULL,
                    next_offset bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (topic, "partition")
                )
                """)
        }
    }

    /// The next offset to consume per partition of `topic`, as last committed.
    public func storedOffsets(topic: String) throws(PostgresError) -> [Int32: Int64] {
        let rows = try connection.execute(
            "SELECT \"partition\", next_offset FROM \(offsets) WHERE topic = $1", [.text(topic)])
        var result: [Int32: Int64] = [:]
        for row in rows {
            guard let partition = try row.int64("partition"), let offset = try row.int64("next_offset") else {
                continue
            }
            result[Int32(truncatingIfNeeded: partition)] = offset
        }
        return result
    }

    /// Stores the batch in one transaction: rows upserted (last write wins), rejects, next offsets.
    /// On any error nothing is stored. Safe to retry as a whole (e.g. inside `connection.retrying`).
    ///
    /// Rows whose `unique_id` is not in the table yet are copied straight into it; the others go through a
    /// staging table and `INSERT … ON CONFLICT (unique_id) DO UPDATE`. Until a batch meets a `unique_id`
    /// already in the table, batches are copied in whole without looking their `unique_id`s up first (the
    /// lookup costs PostgreSQL about a fifth of a COPY); the first duplicate key rolls that batch back, and
    /// it and every later batch run with the lookup. Should another writer insert one of the new
    /// `unique_id`s meanwhile, the transaction is rolled back and run again with every row upserted.
    @discardableResult
    public func commit(_ batch: Batch) throws -> CommitResult {
        if expectNewIDs {
            do {
                return try commit(batch, mode: .copyAll)
            } catch let error as PostgresError where error.sqlState == "23505" {
                expectNewIDs = false
            }
        }
        do {
            return try commit(batch, mode: .copyNew)
        } catch let error as PostgresError where error.sqlState == "23505" {
            return try commit(batch, mode: .upsertAll)
        }
    }

    /// How `commit` writes a batch's rows.
    private enum WriteMode {
        /// COPY every row into the table (fails with a duplicate key if one is there).
        case copyAll
        /// Look the `unique_id`s up; COPY the new rows into the table, upsert the others.
        case copyNew
        /// Upsert every row through the staging table.
        case upsertAll
    }

    /// No batch has met a `unique_id` already in the table yet.
    private var expectNewIDs = true

    private func commit(_ batch: Batch, mode: WriteMode) throws -> CommitResult {
        // Inside a caller's transaction the staging table is not emptied by COMMIT between batches.
        let nested = connection.inTransaction
        return try connection.transaction { db in
            try lockAndCheckOffsets(batch, db)

            var written: Int64 = 0
            if batch.rows.count > 0 {
                var existing: Set<String>?
                if mode == .copyAll {
                    existing = []
                } else if mode == .copyNew {
                    // Probe the primary key for each unique_id: a table that grew since its last ANALYZE can
                    // look small enough to the planner for a scan of the whole table per batch.
                    try db.execute("SET LOCAL enable_seqscan = off")
                    let found = try db.execute(
                        "SELECT unique_id FROM \(pins) WHERE unique_id = ANY($1::text[])",
                        [.textArray(batch.rows.latestUniqueIDs)])
                    try db.execute("SET LOCAL enable_seqscan = on")
                    existing = Set(try found.map { try $0.string("unique_id") ?? "" })
                }
                let columns = PinRow.columns.joined(separator: ", ")
                let format = batch.rows.format
                if let existing, existing.count < batch.rows.count {
                    written += try db.copyIn(
                        sql: "COPY \(pins) (\(columns)) FROM STDIN\(format.statementOption)", columns: PinRow.columns
                    ) {
                        writer in
                        if existing.isEmpty {
                            try batch.rows.forEachLine { lines, rows in
                                try writer.writeEncoded(lines, rows: rows, format: format)
                            }
                        } else {
                            try batch.rows.forEachLine(where: { !existing.contains($0) }) {
                                try writer.writeEncoded($0, format: format)
                            }
                        }
                    }
                }
                if existing == nil || !existing!.isEmpty {
                    // Session-lifetime staging table, emptied at every commit; recreated after a reconnect.
                    try db.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS \(staging) (\(Self.stagingColumnTypes)) ON COMMIT DELETE ROWS")
                    try db.copyIn(
                        sql: "COPY \(staging) (\(columns)) FROM STDIN\(format.statementOption)", columns: PinRow.columns
                    ) { writer in
                        try batch.rows.forEachLine(where: { existing?.contains($0) ?? true }) {
                            try writer.writeEncoded($0, format: format)
                        }
                    }
                    let updates = PinRow.columns.filter { $0 != "unique_id" }.map { "\($0) = EXCLUDED.\($0)" }
                        .joined(separator: ", ")
                    written +=
                        try db.execute(
                            """
                            INSERT INTO \(pins) (\(columns), ingested_at)
                            SELECT \(columns), now() FROM \(staging)
                            ON CONFLICT (unique_id) DO UPDATE SET \(updates), ingested_at = EXCLUDED.ingested_at
                            """
                        ).affectedRows ?? 0
                    if nested { try db.execute("DELETE FROM \(staging)") }
                }
            }

            let unstorable = batch.rows.unstorable
            let allRejects = batch.rejects + unstorable
            var rejectsWritten: Int64 = 0
            if !allRejects.isEmpty {
                var hex: [UInt8] = []
                rejectsWritten =
                    try db.execute(
                        """
                        INSERT INTO \(rejected) (topic, "partition", kafka_offset, raw_value, reason)
                        SELECT $1, p, o, decode(r, 'hex'), reason
                        FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[]) AS u(p, o, r, reason)
                        ON CONFLICT (topic, "partition", kafka_offset) DO NOTHING
                        """,
                        [
                            .text(batch.topic),
                            .textArray(allRejects.map { String($0.partition) }),
                            .textArray(allRejects.map { String($0.offset) }),
                            .textArray(
                                allRejects.map {
                                    hex.removeAll(keepingCapacity: true)
                                    PostgresArrayLiteral.appendHex($0.rawValue, to: &hex)
                                    return String(decoding: hex, as: UTF8.self)
                                }),
                            // PostgreSQL text cannot hold NUL; keep the reason readable instead of failing the batch.
                            .textArray(allRejects.map { $0.reason.replacing("\u{0}", with: "\\0") }),
                        ]
                    ).affectedRows ?? 0
            }

            if !batch.nextOffsets.isEmpty {
                let partitions = batch.nextOffsets.keys.sorted()
                try db.execute(
                    """
                    INSERT INTO \(offsets) (topic, "partition", next_offset)
                    SELECT $1, p, o FROM unnest($2::int[], $3::bigint[]) AS u(p, o)
                    ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()
                    """,
                    [
                        .text(batch.topic),
                        .textArray(partitions.map { String($0) }),
                        .textArray(partitions.map { String(batch.nextOffsets[$0]!) }),
                    ])
            }
            return CommitResult(
                rowsWritten: written, duplicatesCollapsed: Int64(batch.rows.duplicates), rejectsWritten: rejectsWritten,
                unstorable: unstorable)
        }
    }

    /// Locks the batch's partitions for this transaction (in a fixed order, so concurrent commits cannot
    /// deadlock) and checks that their stored offsets are still the ones the batch started from.
    private func lockAndCheckOffsets(_ batch: Batch, _ db: PostgresConnection) throws {
        let partitions = Set(batch.nextOffsets.keys).union(batch.expectedOffsets.keys).sorted()
        guard !partitions.isEmpty else { return }
        try db.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1), p) FROM unnest($2::int[]) AS u(p) ORDER BY p",
            [.text("pinpipe offsets " + table + " " + batch.topic), .textArray(partitions.map { String($0) })])
        guard !batch.expectedOffsets.isEmpty else { return }
        let stored = try storedOffsets(topic: batch.topic)
        for partition in batch.expectedOffsets.keys.sorted() {
            if let current = stored[partition], let expected = batch.expectedOffsets[partition], current != expected {
                throw OffsetConflict(topic: batch.topic, partition: partition, expected: expected, stored: current)
            }
        }
    }

    private static let stagingColumnTypes = """
        ind bigint, unique_id text, title text, description text, follower_count bigint, poster_name text, \
        tag_list text[], is_image_or_video text, image_src text, save_location text, category text, \
        downloaded boolean, kafka_partition int, kafka_offset bigint
        """
}
