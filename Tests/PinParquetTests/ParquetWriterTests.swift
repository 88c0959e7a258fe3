import Foundation
import PinCompression
import PinParquet
import Testing

/// Writes `rows` to a temporary file and returns its path and summary.
private func writeFile(
    _ rows: [[ParquetValue]], schema: ParquetSchema = .cleanPins, options: ParquetWriter.Options, name: String
) throws -> (String, ParquetWriter.FileSummary) {
    let path = ParquetReadBack.temporaryPath(name)
    let writer = try ParquetWriter(path: path, schema: schema, options: options)
    for row in rows { try writer.write(row: row) }
    return (path, try writer.close())
}

private func columns(_ metadata: [String: Any], group: Int) -> [[String: Any]] {
    let groups = metadata["row_groups"] as? [[String: Any]] ?? []
    return groups[group]["columns"] as? [[String: Any]] ?? []
}

@Suite struct ParquetWriterTests {
    @Test(arguments: CompressionCodec.allCases)
    func readBackWithPyarrowAndDuckDB(codec: CompressionCodec) throws {
        let rows = SampleRows.make(count: 2_500)
        let (path, summary) = try writeFile(
            rows, options: .init(compression: codec, rowGroupRows: 1_000), name: codec.rawValue)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(summary.rows == 2_500)
        #expect(summary.rowGroups == 3)
        #expect(summary.bytes == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        for reader in ParquetReadBack.Reader.allCases {
            let back = try ParquetReadBack.rows(path, reader: reader, schema: .cleanPins)
            #expect(back.count == rows.count, "\(reader)")
            for (index, (expected, actual)) in zip(rows, back).enumerated() where expected != actual {
                Issue.record("\(reader) row \(index): expected \(expected), got \(actual)")
                break
            }
        }
        let metadata = try ParquetReadBack.metadata(path)
        #expect(metadata["created_by"] as? String == "pinpipe")
        #expect(metadata["num_rows"] as? Int == 2_500)
        let expectedCodec = ["none": "UNCOMPRESSED", "snappy": "SNAPPY", "gzip": "GZIP", "zstd": "ZSTD"][codec.rawValue]
        #expect(columns(metadata, group: 0).allSatisfy { $0["compression"] as? String == expectedCodec })
    }

    @Test func schemaAsArrowSeesIt() throws {
        let (path, _) = try writeFile(SampleRows.make(count: 10), options: .init(), name: "schema")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let schema = try ParquetReadBack.metadata(path)["arrow_schema"] as? String ?? ""
        for line in [
            "ind: int64 not null", "unique_id: string not null", "title: string", "follower_count: int64",
            "tag_list: list<element: string>", "category: string not null", "downloaded: bool",
        ] {
            #expect(schema.contains(line), "\(line) in \(schema)")
        }
    }

    @Test func statisticsMatchTheData() throws {
        let rows = SampleRows.make(count: 3_000, seed: 7)
        let (path, _) = try writeFile(rows, options: .init(rowGroupRows: 1_200), name: "stats")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let metadata = try ParquetReadBack.metadata(path)
        for (group, range) in [0..<1_200, 1_200..<2_400, 2_400..<3_000].enumerated() {
            let chunks = columns(metadata, group: group)
            for (index, column) in ParquetSchema.cleanPins.columns.enumerated() {
                let values = rows[range].map { $0[index] }
                let chunk = chunks[index]
                var nulls = 0
                var strings: [String] = []
                var ints: [Int64] = []
                var bools: [Bool] = []
                for value in values {
                    switch value {
                    case .null: nulls += 1
                    case .int64(let number): ints.append(number)
                    case .bool(let flag): bools.append(flag)
                    case .string(let text): strings.append(text)
                    case .stringList(let items):
                        if items.isEmpty { nulls += 1 }
                        strings += items
                    }
                }
                #expect(chunk["null_count"] as? Int == nulls, "\(column.name) null_count")
                switch column.kind {
                case .int64:
                    #expect((chunk["min"] as? NSNumber)?.int64Value == ints.min(), "\(column.name) min")
                    #expect((chunk["max"] as? NSNumber)?.int64Value == ints.max(), "\(column.name) max")
                case .boolean:
                    #expect(chunk["min"] as? Bool == bools.min { !$0 && $1 }, "\(column.name) min")
                    #expect(chunk["max"] as? Bool == bools.max { !$0 && $1 }, "\(column.name) max")
                case .string, .stringList:
                    // Parquet orders strings by unsigned bytes, which is UTF-8 code-unit order.
                    let byBytes: (String, String) -> Bool = { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                    let low = strings.min(by: byBytes)
                    let high = strings.max(by: byBytes)
                    if (low?.utf8.count ?? 0) > 4096 || (high?.utf8.count ?? 0) > 4096 {
                        // Too long for statistics: left out.
                        #expect(chunk["min"] is NSNull && chunk["max"] is NSNull, "\(column.name) long min/max")
                    } else {
                        #expect(chunk["min"] as? String == low, "\(column.name) min")
                        #expect(chunk["max"] as? String == high, "\(column.name) max")
                    }
                }
            }
        }
    }

    @Test func dictionaryWherePaysAndFallbackWhenTooLarge() throws {
        let schema = ParquetSchema(columns: [
            ParquetColumn("few", .string, optional: false),
            ParquetColumn("many", .string),
            ParquetColumn("tags", .stringList),
        ])
        let rows: [[ParquetValue]] = (0..<20_000).map { index in
            [
                .string(SampleRows.categories[index % 10]),
                index % 7 == 0
                    ? .null : .string("distinct value number \(index) ✓ \(String(repeating: "y", count: index % 50))"),
                .stringList(["t\(index % 3)", "tag"]),
            ]
        }
        let (path, _) = try writeFile(
            rows, schema: schema, options: .init(dictionaryPageBytes: 64 << 10), name: "dictionary")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let chunks = columns(try ParquetReadBack.metadata(path), group: 0)
        #expect(chunks[0]["has_dictionary_page"] as? Bool == true)
        #expect((chunks[0]["encodings"] as? [String])?.contains("RLE_DICTIONARY") == true)
        #expect(chunks[1]["has_dictionary_page"] as? Bool == false)
        #expect((chunks[1]["encodings"] as? [String])?.contains("RLE_DICTIONARY") == false)
        #expect(chunks[2]["has_dictionary_page"] as? Bool == true)
        for reader in ParquetReadBack.Reader.allCases {
            #expect(try ParquetReadBack.rows(path, reader: reader, schema: schema) == rows, "\(reader)")
        }
    }

    @Test func plainOnlyWhenDictionaryDisabled() throws {
        let rows = SampleRows.make(count: 500, longStrings: false)
        let (path, _) = try writeFile(rows, options: .init(compression: .snappy, dictionary: false), name: "plain")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(
            columns(try ParquetReadBack.metadata(path), group: 0).allSatisfy {
                $0["has_dictionary_page"] as? Bool == false
            })
        #expect(try ParquetReadBack.rows(path, reader: .duckdb, schema: .cleanPins) == rows)
    }

    @Test func nullsEverywhereAndSmallPages() throws {
        let schema = ParquetSchema.cleanPins
        let rows: [[ParquetValue]] = (0..<3_000).map { index in
            schema.columns.enumerated().map { column, spec in
                if !spec.optional {
                    return column == 0 ? .int64(Int64(index)) : .string(index % 2 == 0 ? "" : "é\(index)")
                }
                return index % 3 == 0 ? .null : SampleRows.make(count: 1, seed: UInt64(index))[0][column]
            }
        }
        let allNull = rows.map { row in
            row.enumerated().map { schema.columns[$0.offset].optional ? ParquetValue.null : $0.element }
        }
        for (name, data) in [("mixed", rows), ("allnull", allNull)] {
            let (path, summary) = try writeFile(
                data, options: .init(compression: .gzip, rowGroupRows: 1_000, pageBytes: 2_000), name: name)
            defer { try? FileManager.default.removeItem(atPath: path) }
            if name == "allnull" { #expect(summary.nullCounts["title"] == 3_000) }
            for reader in ParquetReadBack.Reader.allCases {
                #expect(try ParquetReadBack.rows(path, reader: reader, schema: schema) == data, "\(name) \(reader)")
            }
        }
    }

    @Test func emptyFileIsValid() throws {
        let (path, summary) = try writeFile([], options: .init(), name: "empty")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(summary.rows == 0 && summary.rowGroups == 0)
        #expect(try ParquetReadBack.rows(path, reader: .pyarrow, schema: .cleanPins).isEmpty)
        #expect(try ParquetReadBack.rows(path, reader: .duckdb, schema: .cleanPins).isEmpty)
    }

    @Test func rowGroupsBySize() throws {
        let rows = SampleRows.make(count: 5_000, longStrings: false)
        let (path, summary) = try writeFile(rows, options: .init(rowGroupBytes: 100_000), name: "bysize")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(summary.rowGroups > 1)
        #expect(try ParquetReadBack.rows(path, reader: .pyarrow, schema: .cleanPins) == rows)
    }

    @Test func columnarAppendAndMemorySink() throws {
        let schema = ParquetSchema(columns: [
            ParquetColumn("id", .int64, optional: false), ParquetColumn("name", .string), ParquetColumn("ok", .boolean),
        ])
        let sink = ParquetMemorySink()
        let writer = try ParquetWriter(sink: sink, schema: schema, options: .init(compression: .zstd))
        for index in 0..<100 {
            try writer.append(Int64(index), to: 0)
            try "name \(index)".utf8CString.withUnsafeBytes {
                try writer.append(utf8: UnsafeRawBufferPointer(rebasing: $0.dropLast()), to: 1)
            }
            if index % 2 == 0 { try writer.appendNull(to: 2) } else { try writer.append(index % 3 == 0, to: 2) }
            try writer.endRow()
        }
        let summary = try writer.close()
        #expect(summary.bytes == sink.bytes.count)
        #expect(Array(sink.bytes.prefix(4)) == Array("PAR1".utf8) && Array(sink.bytes.suffix(4)) == Array("PAR1".utf8))
        let path = ParquetReadBack.temporaryPath("memory")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(sink.bytes).write(to: URL(fileURLWithPath: path))
        let back = try ParquetReadBack.rows(path, reader: .duckdb, schema: schema)
        #expect(back.count == 100)
        #expect(back[3] == [.int64(3), .string("name 3"), .bool(true)])
        #expect(back[4] == [.int64(4), .string("name 4"), .null])
    }

    @Test func misuseIsReported() throws {
        let schema = ParquetSchema(columns: [
            ParquetColumn("id", .int64, optional: false), ParquetColumn("name", .string),
        ])
        let writer = try ParquetWriter(sink: ParquetMemorySink(), schema: schema)
        #expect(throws: ParquetError.self) { try writer.append(nil as Int64?, to: 0) }
        #expect(throws: ParquetError.self) { try writer.append("text", to: 0) }
        #expect(throws: ParquetError.self) { try writer.append(Int64(1), to: 5) }
        #expect(throws: ParquetError.self) { try writer.write(row: [.int64(1)]) }
        try writer.append(Int64(1), to: 0)
        #expect(throws: ParquetError.self) { try writer.endRow() }
        // A broken row poisons the writer rather than writing a corrupt file.
        #expect(throws: ParquetError.self) { try writer.close() }
        #expect(throws: ParquetError.self) {
            try ParquetWriter(sink: ParquetMemorySink(), schema: ParquetSchema(columns: []))
        }
    }
}
