import Testing

@testable import PinPostgres

extension PinPostgresTests {
    @Suite struct CopyRowWriterTests {
        static let nastyStrings: [String] = [
            "plain", "tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N", "\\.", "\\.\n", "ends with \\",
            "'single' quotes", "\"double\" quotes", "", " ", "NULL", "null", "\\x41", "a\\tb", "{braces,commas}",
            "ünïcødé Ωμέγα 中文", "🎉 emoji 👩‍👩‍👧 flags 🇫🇷", "control \u{1}\u{7F}\u{1B}[0m", "E'\\\\'; DROP TABLE x; --",
            String(repeating: "long\t\\\"text\n", count: 100_000),
        ]
        static let nastyArrays: [[String]?] = [
            [], ["NULL"], ["null", "Null"], nil, [""], [" spaced ", "  "],
            ["a,b", "{c}", "\"q\"", "back\\slash", "tab\tin", "nl\nin", "cr\rin", "\\N", "\\"],
            ["ü", "🎉", "中"], ["}", "{", ",", "\"", "\\\""], [String(repeating: "x,\"y\\", count: 10_000)],
        ]
        static let bools: [Bool?] = [true, false, nil]
        static let ints: [Int64?] = [0, -1, 42, Int64.max, Int64.min, nil]

        func makeTable(_ db: PostgresConnection, primaryKey: Bool = false) throws -> String {
            let table = TestDatabase.uniqueName("copy")
            try db.execute(
                "CREATE TABLE \(table) (id bigint\(primaryKey ? " PRIMARY KEY" : ""), t text, tags text[], b boolean, n bigint)"
            )
            return table
        }

        @Test(arguments: [CopyFormat.text, .binary])
        func copyRoundTripsValuesBuiltToBreakQuoting(format: CopyFormat) throws {
            let db = try TestDatabase.connect()
            let table = try makeTable(db)
            defer { _ = try? db.execute("DROP TABLE \(table)") }

            struct Expected: Equatable {
                var t: String?
                var tags: [String]?
                var b: Bool?
                var n: Int64?
            }
            var expected: [Expected] = []
            for index in 0..<(Self.nastyStrings.count + 1) {
                expected.append(
                    Expected(
                        t: index < Self.nastyStrings.count ? Self.nastyStrings[index] : nil,
                        tags: Self.nastyArrays[index % Self.nastyArrays.count],
                        b: Self.bools[index % Self.bools.count],
                        n: Self.ints[index % Self.ints.count]))
            }
            let stored = try db.copyIn(table: table, columns: ["id", "t", "tags", "b", "n"], format: format) { writer in
                #expect(writer.format == format)
                for (index, row) in expected.enumerated() {
                    try writer.writeRow { copy in
                        copy.append(Int64(index))
                        try copy.append(row.t)
                        try copy.append(row.tags)
                        copy.append(row.b)
                        copy.append(row.n)
                    }
                }
            }
            #expect(stored == Int64(expected.count))

            let rows = try db.execute("SELECT id, t, tags, b, n FROM \(table) ORDER BY id")
            #expect(rows.count == expected.count)
            for (index, row) in rows.enumerated() {
                let actual = Expected(
                    t: try row.string("t"), tags: try row.stringArray("tags"), b: try row.bool("b"),
                    n: try row.int64("n"))
                #expect(actual == expected[index], "row \(index)")
            }
            // The server sees the same strings (lengths in characters) and array sizes, not just our parser.
            let checks = try db.execute(
                "SELECT id, length(t) AS len, cardinality(tags) AS card FROM \(table) ORDER BY id")
            for (index, row) in checks.enumerated() {
                #expect(
                    try row.int64("len") == expected[index].t.map { Int64($0.unicodeScalars.count) }, "row \(index)")
                #expect(try row.int64("card") == expected[index].tags.map { Int64($0.count) }, "row \(index)")
            }
            let literalN = try db.execute("SELECT count(*) AS c FROM \(table) WHERE t = $1", ["\\N"])
            #expect(try literalN[0].int64("c") == 1)
            let textNull = try db.execute(
                "SELECT count(*) AS c FROM \(table) WHERE tags = $1 AND tags[1] IS NOT NULL", [.textArray(["NULL"])])
            #expect(try textNull[0].int64("c") == Int64(expected.filter { $0.tags == ["NULL"] }.count))
        }

        /// Values given as UTF-8 bytes (pin-stream-pg's path for clean records) encode exactly like Strings.
        @Test(arguments: [CopyFormat.text, .binary])
        func byteValuesEncodeLikeStrings(format: CopyFormat) throws {
            // The row's bytes, or why it was refused.
            func encoded(_ body: (inout CopyRow) throws -> Void) -> Result<[UInt8], PostgresError> {
                var row = CopyRow(columns: ["t", "tags"], format: format, bytes: [])
                do {
                    try body(&row)
                    try row.finish()
                    return .success(row.bytes)
                } catch {
                    return .failure(error as! PostgresError)
                }
            }
            let strings = Self.nastyStrings.map { Optional($0) } + [nil, "nul\u{0}inside"]
            let arrays = Self.nastyArrays + [["a", "b\u{0}"]]
            for (index, text) in strings.enumerated() {
                let tags = arrays[index % arrays.count]
                let fromStrings = encoded { row in
                    try row.append(text)
                    try row.append(tags)
                }
                let fromBytes = encoded { row in
                    if let text {
                        try Array(text.utf8).withUnsafeBytes { try row.append(utf8: $0) }
                    } else {
                        try row.append(utf8: nil)
                    }
                    guard let tags else { return row.appendNull() }
                    row.beginArray()
                    for tag in tags { try Array(tag.utf8).withUnsafeBytes { try row.appendArrayItem(utf8: $0) } }
                    row.endArray()
                }
                switch (fromStrings, fromBytes) {
                case (.success(let a), .success(let b)): #expect(a == b, "row \(index)")
                case (.failure(let a), .failure(let b)): #expect(a.description == b.description, "row \(index)")
                default: Issue.record("row \(index): \(fromStrings) vs \(fromBytes)")
                }
            }
        }

        @Test(arguments: [CopyFormat.text, .binary])
        func nulBytesAreRejectedPerRowNamingTheColumn(format: CopyFormat) throws {
            let db = try TestDatabase.connect()
            let table = try makeTable(db)
            defer { _ = try? db.execute("DROP TABLE \(table)") }

            var rejected: [String] = []
            let stored = try db.copyIn(table: table, columns: ["id", "t", "tags", "b", "n"], format: format) { writer in
                let rows: [(Int64, String?, [String]?)] = [
                    (1, "fine", ["ok"]), (2, "nul\u{0}inside", ["ok"]), (3, "fine", ["a", "b\u{0}"]), (4, "\u{0}", nil),
                    (5, "also fine", []),
                ]
                for row in rows {
                    do {
                        try writer.writeRow { copy in
                            copy.append(row.0)
                            try copy.append(row.1)
                            try copy.append(row.2)
                            copy.append(true)
                            copy.append(Int64?.none)
                        }
                    } catch let error as PostgresError {
                        #expect(error.kind == .invalidValue)
                        #expect(error.description.contains("NUL"))
                        rejected.append(error.column ?? "?")
                    }
                }
                #expect(writer.rowCount == 2)
            }
            #expect(rejected == ["t", "tags", "t"])
            #expect(stored == 2)
            let ids = try db.execute("SELECT id FROM \(table) ORDER BY id").map { try $0.int64("id") }
            #expect(ids == [1, 5])
        }

        /// Text is scanned eight bytes at a time: every special byte (and a NUL) at every place in and
        /// around a word, in text and in array elements.
        @Test(arguments: [CopyFormat.text, .binary])
        func specialBytesAtEveryPlaceOfAWord(format: CopyFormat) throws {
            let db = try TestDatabase.connect()
            let table = try makeTable(db)
            defer { _ = try? db.execute("DROP TABLE \(table)") }

            var expected: [String] = []
            for special in ["\t", "\n", "\r", "\\", "\"", "\u{1}", "\u{D}", "\u{E}", "ü"] {
                for length in 1...20 {
                    for place in 0..<length {
                        var characters = Array(repeating: "a", count: length)
                        characters[place] = special
                        expected.append(characters.joined())
                    }
                }
            }
            var nulsRejected = 0
            let stored = try db.copyIn(table: table, columns: ["id", "t", "tags", "b", "n"], format: format) { writer in
                for (index, text) in expected.enumerated() {
                    try writer.writeRow { copy in
                        copy.append(Int64(index))
                        try copy.append(text)
                        try copy.append([text, text])
                        copy.append(Bool?.none)
                        copy.append(Int64?.none)
                    }
                }
                for length in 1...20 {
                    for place in 0..<length {
                        var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                        bytes[place] = 0
                        let text = String(decoding: bytes, as: UTF8.self)
                        for inArray in [false, true] {
                            do {
                                try writer.writeRow { copy in
                                    copy.append(Int64(-1))
                                    try copy.append(inArray ? "fine" : text)
                                    try copy.append(inArray ? [text] : [])
                                    copy.append(Bool?.none)
                                    copy.append(Int64?.none)
                                }
                            } catch let error as PostgresError where error.kind == .invalidValue {
                                nulsRejected += 1
                            }
                        }
                    }
                }
            }
            #expect(stored == Int64(expected.count))
            #expect(nulsRejected == 2 * 210)
            let rows = try db.execute("SELECT id, t, tags FROM \(table) ORDER BY id")
            #expect(rows.count == expected.count)
            for row in rows {
                let index = Int(try row.int64("id") ?? -1)
                #expect(try row.string("t") == expected[index], "row \(index)")
                #expect(try row.stringArray("tags") == [expected[index], expected[index]], "row \(index)")
            }
        }

        @Test func wrongValueCountIsRejected() throws {
            let db = try TestDatabase.connect()
            let table = try makeTable(db)
            defer { _ = try? db.execute("DROP TABLE \(table)") }
            try db.copyIn(table: table, columns: ["id", "t"]) { writer in
                #expect(throws: PostgresError.self) { try writer.writeRow([.int(1)]) }
                try writer.writeRow([.int(2), .text("two")])
            }
            #expect(try db.execute("SELECT t FROM \(table)")[0].string("t") == "two")
        }

        @Test(arguments: [CopyFormat.text, .binary])
        func manySmallChunksArriveComplete(format: CopyFormat) throws {
            var options = PostgresConnection.Options()
            options.copyChunkSize = 1024
            let db = try TestDatabase.connect(options: options)
            let table = try makeTable(db)
            defer { _ = try? db.execute("DROP TABLE \(table)") }
            let count = 20_000
            let sql = "COPY \(table) (id, t, tags) FROM STDIN\(format.statementOption)"
            let stored = try db.copyIn(sql: sql, columns: ["id", "t", "tags"]) { writer in
                #expect(writer.format == format)
                for index in 0..<count {
                    try writer.writeRow([
                        .int(Int64(index)), .text("row\t\(index)"), .textArray(["x", nil, "\(index)"]),
                    ])
                }
                #expect(writer.bytesSent > 0)
            }
            #expect(stored == Int64(count))
            let summary = try db.execute(
                "SELECT count(*) AS c, sum(id) AS s, count(*) FILTER (WHERE t = 'row' || chr(9) || id AND tags[2] IS NULL AND tags[3] = id::text) AS ok FROM \(table)"
            )[0]
            #expect(try summary.int64("c") == Int64(count))
            #expect(try summary.int64("s") == Int64(count * (count - 1) / 2))
            #expect(try summary.int64("ok") == Int64(count))
        }

        @Test func abandonedCopyStoresNothingAndTheConnectionGoesOn() throws {
            let db = try TestDatabase.connect()
            let table = try makeTable(db)
            defer { _ = try? db.execute("DROP TABLE \(table)") }
            struct Stop: Error {}
            #expect(throws: Stop.self) {
                try db.copyIn(table: table, columns: ["id"]) { writer in
                    for index in 0..<50_000 { try writer.writeRow([.int(Int64(index))]) }
                    throw Stop()
                }
            }
            #expect(db.isHealthy)
            #expect(try db.execute("SELECT count(*) AS c FROM \(table)")[0].int64("c") == 0)
        }

        @Test func copyStatementsInTheWrongPlaceLeaveTheConnectionUsable() throws {
            let db = try TestDatabase.connect()
            let table = try makeTable(db)
            defer { _ = try? db.execute("DROP TABLE \(table)") }
            try db.execute("INSERT INTO \(table) (id) SELECT generate_series(1, 1000)")
            #expect(throws: PostgresError.self) { try db.execute("COPY \(table) TO STDOUT") }
            #expect(throws: PostgresError.self) { try db.execute("COPY \(table) FROM STDIN") }
            #expect(throws: PostgresError.self) { try db.copyIn(sql: "SELECT 1") { _ in } }
            #expect(throws: PostgresError.self) { try db.copyIn(sql: "COPY \(table) TO STDOUT") { _ in } }
            #expect(db.isHealthy)
            #expect(try db.execute("SELECT count(*) AS c FROM \(table)")[0].int64("c") == 1000)
        }

        @Test(arguments: [CopyFormat.text, .binary])
        func serverErrorDuringCopyIsReported(format: CopyFormat) throws {
            let db = try TestDatabase.connect()
            let table = try makeTable(db, primaryKey: true)
            defer { _ = try? db.execute("DROP TABLE \(table)") }
            do {
                try db.copyIn(table: table, columns: ["id"], format: format) { writer in
                    try writer.writeRow([.int(1)])
                    try writer.writeRow([.int(1)])
                }
                Issue.record("duplicate key in COPY was accepted")
            } catch let error as PostgresError {
                #expect(error.sqlState == "23505")
            }
            do {
                try db.copyIn(sql: "COPY no_such_table_\(table) FROM STDIN") { _ in }
                Issue.record("COPY into a missing table was accepted")
            } catch let error as PostgresError {
                #expect(error.sqlState == "42P01")
            }
            // A binary value of the wrong width for its column is the server's error, not a broken stream.
            if format == .binary {
                do {
                    try db.copyIn(table: table, columns: ["id"], format: format) { writer in
                        try writer.writeRow { row in row.append(Int32(7)) }
                    }
                    Issue.record("an int4 value for a bigint column was accepted")
                } catch let error as PostgresError {
                    #expect(error.sqlState == "08P01")  // "insufficient data left in message"
                }
                #expect(db.isHealthy)
            }
            #expect(try db.execute("SELECT count(*) AS c FROM \(table)")[0].int64("c") == 0)
        }
    }
}
