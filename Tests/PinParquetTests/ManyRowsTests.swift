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
