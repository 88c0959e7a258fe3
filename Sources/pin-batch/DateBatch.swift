import Foundation
import PinCompression
import PinCore
import PinObjectStore
import PinParquet

/// The batch job for one date: read the raw objects twice (first to find each id's winning copy,
/// then to write the winners), then publish parts, rejects, report and `_SUCCESS`.
///
/// Publishing order keeps a failure harmless: `_SUCCESS` goes first, new parts are uploaded
/// under names the old run did not use, and only then are the old objects deleted.
struct DateBatch {
    struct Settings {
        var parquet: ParquetWriter.Options
        var rowsPerPart: Int
        var showProgress: Bool
    }

    let date: String
    let source: (store: any ObjectStore, prefix: String, location: String)
    let dest: (store: any ObjectStore, prefix: String, location: String)
    let settings: Settings
    let log: StderrLogger

    private var folder: String { "dt=\(date)/" }

    /// A destination directory keeps the hidden temporary files of parts whose writer was killed
    /// mid-write; those untouched for an hour cannot belong to a live run (a part takes seconds).
    private func removeAbandonedTemporaryFiles() {
        guard let directory = dest.store as? LocalDirectoryStore else { return }
        do {
            let removed = try directory.removeTemporaryFiles(under: dest.prefix + folder, olderThan: 3600)
            if removed > 0 { log.info("removed \(removed) temporary files left by runs stopped an hour ago or more") }
        } catch {
            log.warning("could not clear old temporary files under \(dest.location)/\(folder): \(error)")
        }
    }

    /// Raw winning lines cleaned as one batch by a worker (about a thousand rows).
    private static let chunkBytes = 512 << 10

    func run() async throws -> BatchReport {
        let clock = ContinuousClock()
        let started = clock.now
        var report = BatchReport(date: date, source: source.location, dest: dest.location)
        for column in ParquetSchema.cleanPins.columns { report.nulls[column.name] = 0 }
        let staging: String
        do {
            staging = try StagingDirectory.create { [log] in log.info($0) }
        } catch {
            throw BatchError.io(
                "cannot create a staging directory in \(FileManager.default.temporaryDirectory.path): \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }
        removeAbandonedTemporaryFiles()

        let listing = try await source.store.list(prefix: source.prefix + folder)
        let objects = listing.compactMap { SourceObject(key: $0.key) }
        report.sourceObjects = objects.map { String($0.key.dropFirst(source.prefix.count)) }
        if objects.isEmpty { log.warning("no input objects under \(source.location)/\(folder)") }

        // Pass 1: validate every line, set rejects aside, find each id's winning position.
        let rejects = try RejectLog(path: staging + "/rejects.ndjson")
        // Room for the ids up front (records are ~700 bytes, ~200 compressed): growing the table costs more.
        let expectedIDs = listing.reduce(0) { total, object in
            total + Int(clamping: object.size) / (object.key.hasSuffix(".jsonl") ? 700 : 200)
        }
        var deduplicator = Deduplicator(expectedIDs: min(expectedIDs, 50_000_000))
        var sequence: Int64 = 0
        try await ObjectScan.scan(objects, in: source.store) { number, scan in
            progress("pass 1/2: object \(number + 1)/\(objects.count)")
            let object = objects[number]
            for line in scan.lines {
                sequence += 1
                report.rowsIn += 1
                switch line {
                case .valid(let uniqueID, let line):
                    deduplicator.offer(uniqueID, at: position(object, line, sequence))
                case .invalid(let line, let reason, let raw):
                    try raw.withUnsafeBufferPointer { raw in
                        try rejects.add(source: source.store.describe(object.key), line: line, reason: reason, raw: raw)
                    }
                }
            }
            if let unreadable = scan.unreadable {
                log.warning("\(source.store.describe(object.key)): \(unreadable)")
                try rejects.add(
                    source: source.store.describe(object.key), line: 0, reason: "unreadable object: \(unreadable)",
                    raw: nil)
            }
        }
        try rejects.flush()
        report.rejects = rejects.count
        report.duplicates = deduplicator.duplicates
        deduplicator.forgetIDs()

        // Old output of this date: no longer complete from here on.
        let successKey = dest.prefix + folder + "_SUCCESS"
        try await dest.store.delete(successKey)
        let oldKeys = try await dest.store.list(prefix: dest.prefix + folder).map(\.key)
        let firstNumber = (oldKeys.compactMap(Self.partNumber).max() ?? -1) + 1

        // Pass 2: re-read and write the winners, uploading each part as it is finished.
        let parts = PipelinedPartWriter(
            ParquetPartWriter(
                directory: staging, options: settings.parquet, rowsPerPart: settings.rowsPerPart,
                firstNumber: firstNumber))
        // Cleaning runs on two worker threads; the batches reach the Parquet thread in input order.
        let cleaning = CleaningPool(workers: 2, inFlight: 6) { try parts.write($0) }
        var newKeys: [String] = []
        var chunk = CleaningPool.Lines(reservingBytes: Self.chunkBytes + (64 << 10))
        sequence = 0
        do {
            for (number, object) in objects.enumerated() {
                progress("pass 2/2: object \(number + 1)/\(objects.count)")
                try await forEachLine(of: object, rejects: nil) { line, bytes in
                    try ShutdownSignal.check()
                    sequence += 1
                    guard deduplicator.isWinner(sequence: sequence) else { return }
                    chunk.append(bytes)
                    if chunk.bytes.count >= Self.chunkBytes {
                        try cleaning.submit(chunk)
                        chunk = CleaningPool.Lines(reservingBytes: Self.chunkBytes + (64 << 10))
                    }
                }
                // Parts finished so far go up while the rest is still being written.
                try await upload(parts.takeFinishedParts(), into: &report, keys: &newKeys)
            }
            try cleaning.submit(chunk)
            report.cleaning = try cleaning.finish()
            try await upload(parts.close(), into: &report, keys: &newKeys)
            try ShutdownSignal.check()
        } catch {
            // The old parts are still complete: take away the new ones rather than leave a mix.
            clearProgress()
            cleaning.cancel()
            parts.cancel()
            try? await dest.store.delete(keys: newKeys)
            throw error
        }
        report.rowsOut = parts.rows
        clearProgress()

        // Rejects replace the date's previous rejects; then the old parts go.
        let rejectedPrefix = dest.prefix + "_rejected/" + folder
        let rejectsKey = rejectedPrefix + "rejects.ndjson"
        if rejects.count > 0 { try await dest.store.put(rejectsKey, contentsOfFile: rejects.path) }
        let staleRejects = try await dest.store.list(prefix: rejectedPrefix).map(\.key).filter {
            rejects.count == 0 || $0 != rejectsKey
        }
        try await dest.store.delete(keys: staleRejects)
        let keep = Set(newKeys)
        try await dest.store.delete(keys: oldKeys.filter { !keep.contains($0) })

        report.seconds = (clock.now - started).inSeconds
        try await dest.store.put(dest.prefix + folder + "_REPORT.json", bytes: report.jsonBytes())
        try await dest.store.put(successKey, bytes: [])
        return report
    }

    /// Reads an object's lines. A corrupt object (bad compression, an overlong line) is itself a
    /// reject in pass 1 and skipped from there in pass 2; the lines before the damage still count.
    private func forEachLine(
        of object: SourceObject, rejects: RejectLog?, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void
    ) async throws {
        do {
            try await ObjectLineReader(store: source.store).forEachLine(of: object, body)
        } catch let error where error is CompressionError || error is LineSplitter.LineTooLong {
            guard let rejects else { return }
            log.warning("\(source.store.describe(object.key)): \(error)")
            try rejects.add(
                source: source.store.describe(object.key), line: 0, reason: "unreadable object: \(error)", raw: nil)
        }
    }

    private func position(_ object: SourceObject, _ line: Int, _ sequence: Int64) -> InputPosition {
        InputPosition(offset: object.firstOffset.map { $0 + Int64(line - 1) }, sequence: sequence)
    }

    private func upload(
        _ finished: [ParquetPartWriter.Part], into report: inout BatchReport, keys: inout [String]
    ) async throws {
        for part in finished {
            let key = dest.prefix + folder + part.name
            try await dest.store.put(key, contentsOfFile: part.path)
            try? FileManager.default.removeItem(atPath: part.path)
            keys.append(key)
            report.parts.append(part.name)
            for (column, count) in part.summary.nullCounts { report.nulls[column, default: 0] += count }
        }
    }

    /// The NNNNN of a `…/part-NNNNN.parquet` key.
    static func partNumber(_ key: String) -> Int? {
        let name = key.split(separator: "/").last ?? ""
        guard name.hasPrefix("part-"), name.hasSuffix(".parquet") else { return nil }
        return Int(name.dropFirst("part-".count).dropLast(".parquet".count))
    }

    private func progress(_ text: String) {
        guard settings.showProgress else { return }
        StandardStream.writeError("\r\u{1B}[Kdt=\(date) \(text)")
    }

    private func clearProgress() {
        guard settings.showProgress else { return }
        StandardStream.writeError("\r\u{1B}[K")
    }
}
