import Foundation
import PinParquet
import Testing

/// A larger file, checked through DuckDB aggregates rather than row by row.
@Suite struct ManyRowsTests {
    @Test func threeHundredThousandRowsInSeveralRowGroups() throws {
        let count = 300_000
        let path = ParquetReadBack.temporaryPath("many")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try ParquetWriter(
            path: path, schema: .cleanPins, options: .init(compression: .zstd, rowGroupRows: 100_000))
        var random = SampleRows.Generator(state: 99)
        var indexSum: Int64 = 0
        var nonNull = [Int](repeating: 0, count: ParquetSchema.cleanPins.columns.count)
        var elements = 0
        for index in 0..<count {
            let row = SampleRows.row(index, &random, longStrings: false)
            for (column, value) in row.enumerated() where value != .null { nonNull[column] += 1 }
            if case .stringList(let items) = row[6] { elements += items.count }
            indexSum += Int64(index)
            try writer.write(row: row)
        }
        let summary = try writer.close()
        #expect(summary.rowGroups == 3)
        let aggregate = try ParquetReadBack.aggregate(path)
        #expect(aggregate["rows"] as? Int == count)
        #expect(aggregate["first_sum"] as? String == String(indexSum))
        let counts = aggregate["non_null"] as? [String: Int] ?? [:]
        for (column, spec) in ParquetSchema.cleanPins.columns.enumerated() {
            #expect(counts[spec.name] == nonNull[column], "\(spec.name)")
            #expect(summary.nullCounts[spec.name] == count - nonNull[column], "\(spec.name)")
        }
        #expect((aggregate["list_elements"] as? [String: Int])?["tag_list"] == elements)
    }
}

/// The issue's proof: a million generated rows (nulls in every optional column, empty and null lists,
/// empty strings, non-ASCII text, some 100 KB strings) read back by pyarrow, DuckDB and Spark, each
/// compared with what was written, row by row.
@Suite struct ThreeReadersTests {
    @Test func aMillionRowsReadBackIdenticallyByPyarrowDuckDBAndSpark() throws {
        let count = 1_000_000
        let path = ParquetReadBack.temporaryPath("million")
        let expectedPath = path + ".expected.jsonl"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: expectedPath)
        }
        let writer = try ParquetWriter(
            path: path, schema: .cleanPins, options: .init(compression: .zstd, rowGroupRows: 300_000))
        #expect(FileManager.default.createFile(atPath: expectedPath, contents: nil))
        let expected = try FileHandle(forWritingTo: URL(fileURLWithPath: expectedPath))
        var random = SampleRows.Generator(state: 7)
        var lines: [UInt8] = []
        for index in 0..<count {
            let row = SampleRows.row(index, &random, longStrings: true, longEvery: 49_999)
            try writer.write(row: row)
            lines.append(UInt8(ascii: "["))
            for (column, value) in row.enumerated() {
                if column > 0 { lines.append(UInt8(ascii: ",")) }
                value.appendJSON(to: &lines)
            }
            lines += [UInt8(ascii: "]"), UInt8(ascii: "\n")]
            if lines.count > 1 << 20 {
                expected.write(Data(lines))
                lines.removeAll(keepingCapacity: true)
            }
        }
        expected.write(Data(lines))
        try expected.close()
        let summary = try writer.close()
        #expect(summary.rowGroups == 4)

        let result = try ParquetReadBack.compare(expected: expectedPath, path: path)
        #expect(result["expected"] as? Int == count)
        let matched = result["matched"] as? [String: Int] ?? [:]
        for reader in ["pyarrow", "duckdb", "spark"] {
            #expect(matched[reader] == count, "\(reader): \(result["mismatches"] ?? [])")
        }
        #expect((result["mismatches"] as? [Any])?.isEmpty == true, "\(result["mismatches"] ?? [])")
    }
}
