import PinCore
import PinParquet

/// Writes clean pins into numbered Parquet part files in a local staging directory, starting a
/// new part every `rowsPerPart` rows. Row groups stream out as they fill, so memory stays
/// bounded by the row-group size.
final class ParquetPartWriter {
    struct Part {
        /// `part-NNNNN.parquet`.
        var name: String
        var path: String
        var summary: ParquetWriter.FileSummary
    }

    private let directory: String
    private let options: ParquetWriter.Options
    private let rowsPerPart: Int
    private var nextNumber: Int
    private var current: (writer: ParquetWriter, name: String, path: String, rows: Int)?
    private var finished: [Part] = []
    private(set) var rows = 0

    init(directory: String, options: ParquetWriter.Options, rowsPerPart: Int, firstNumber: Int) {
        self.directory = directory
        self.options = options
        self.rowsPerPart = rowsPerPart
        self.nextNumber = firstNumber
    }

    static func name(number: Int) -> String {
        let digits = String(number)
        return "part-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".parquet"
    }

    /// Writes a batch of clean rows.
    func write(_ rows: CleanRows) throws {
        try rows.bytes.withUnsafeBytes { bytes in
            var reader = CleanRows.Reader(bytes)
            while !reader.atEnd { try writeRow(&reader) }
        }
    }

    private func writeRow(_ row: inout CleanRows.Reader) throws {
        if current == nil {
            let name = Self.name(number: nextNumber)
            nextNumber += 1
            let path = directory + "/" + name
            current = (try ParquetWriter(path: path, schema: .cleanPins, options: options), name, path, 0)
        }
        let writer = current!.writer
        // The columns of ParquetSchema.cleanPins, in CleanRows order.
        try writer.append(row.integer(), to: 0)
        try writer.append(utf8: row.string(), to: 1)
        try writer.append(utf8: row.string(), to: 2)
        try writer.append(utf8: row.string(), to: 3)
        try writer.append(row.integer(), to: 4)
        try writer.append(utf8: row.string(), to: 5)
        let tags = row.list()
        try writer.append(list: tags?.plain, count: tags?.count ?? 0, to: 6)
        try writer.append(utf8: row.string(), to: 7)
        try writer.append(utf8: row.string(), to: 8)
        try writer.append(utf8: row.string(), to: 9)
        try writer.append(utf8: row.string(), to: 10)
        try writer.append(row.bool(), to: 11)
        try writer.endRow()
        rows += 1
        current!.rows += 1
        if current!.rows >= rowsPerPart { try closeCurrent() }
    }

    /// Finishes the open part, if any.
    func close() throws {
        try closeCurrent()
    }

    /// Parts finished since the last call, ready to upload.
    func takeFinishedParts() -> [Part] {
        defer { finished = [] }
        return finished
    }

    private func closeCurrent() throws {
        guard let open = current else { return }
        current = nil
        let summary = try open.writer.close()
        finished.append(Part(name: open.name, path: open.path, summary: summary))
    }
}
