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
    func write(_ batch: CleanRows) throws {
        var row = 0
        while row < batch.count {
            if current == nil {
                let name = Self.name(number: nextNumber)
                nextNumber += 1
                let path = directory + "/" + name
                current = (try ParquetWriter(path: path, schema: .cleanPins, options: options), name, path, 0)
            }
            let count = min(batch.count - row, rowsPerPart - current!.rows)
            let first = row
            // Two threads, each filling half of the columns: dictionary encoding is most of the work.
            try current!.writer.appendRows(count, secondGroup: Self.secondGroup) { group, rows in
                try Self.append(batch, rows: (first + rows.lowerBound)..<(first + rows.upperBound), to: group)
            }
            rows += count
            current!.rows += count
            row += count
            if current!.rows >= rowsPerPart { try closeCurrent() }
        }
    }

    /// Two threads fill the columns, each a group of them: dictionary encoding is most of the work, and
    /// the tag list (about nine values a row) is the largest part. It goes with is_image_or_video, the
    /// save location, the category and downloaded; the ids, title, description, follower count, poster
    /// and image go on the other thread.
    private static let secondGroup: Set<Int> = [6, 7, 9, 10, 11]

    /// Appends the group's columns of `rows` of the batch. The columns of ParquetSchema.cleanPins, in CleanRows order.
    private static func append(_ batch: CleanRows, rows: Range<Int>, to group: ParquetWriter.ColumnGroup) throws {
        try batch.bytes.withUnsafeBytes { bytes in
            for index in rows {
                var row = CleanRows.Reader(bytes, at: batch.start(of: index))
                let ind = row.integer()
                if group.contains(0) { try group.append(ind, to: 0) }
                let uniqueID = row.string()
                if group.contains(1) { try group.append(utf8: uniqueID, to: 1) }
                let title = row.string()
                if group.contains(2) { try group.append(utf8: title, to: 2) }
                let description = row.string()
                if group.contains(3) { try group.append(utf8: description, to: 3) }
                let followerCount = row.integer()
                if group.contains(4) { try group.append(followerCount, to: 4) }
                let posterName = row.string()
                if group.contains(5) { try group.append(utf8: posterName, to: 5) }
                let tags = row.list()
                if group.contains(6) { try group.append(list: tags?.plain, count: tags?.count ?? 0, to: 6) }
                let isImageOrVideo = row.string()
                if group.contains(7) { try group.append(utf8: isImageOrVideo, to: 7) }
                let imageSrc = row.string()
                if group.contains(8) { try group.append(utf8: imageSrc, to: 8) }
                let saveLocation = row.string()
                if group.contains(9) { try group.append(utf8: saveLocation, to: 9) }
                let category = row.string()
                if group.contains(10) { try group.append(utf8: category, to: 10) }
                let downloaded = row.bool()
                if group.contains(11) { try group.append(downloaded, to: 11) }
            }
        }
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
