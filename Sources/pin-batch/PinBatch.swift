import ArgumentParser
import Foundation
import PinCompression
import PinCore
import PinObjectStore
import PinParquet

@main
struct PinBatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-batch",
        abstract: "Clean a day of raw records into Parquet.",
        discussion: """
            Reads the raw objects under <source>/dt=YYYY-MM-DD/ (.jsonl, .jsonl.gz, .jsonl.zst and single-record \
            .json), validates and cleans every record, keeps one row per unique_id (the highest Kafka position \
            wins), and writes <dest>/dt=YYYY-MM-DD/part-NNNNN.parquet, _REPORT.json and _SUCCESS. Lines that are \
            not valid records go to <dest>/_rejected/dt=YYYY-MM-DD/rejects.ndjson. Re-running a date replaces that \
            date's output only. See docs/pin-batch.md.

            SIGINT/SIGTERM stop the run cleanly (exit 0): the date in progress keeps its previous parts.

            Exit status: 0 ok, 64 usage, 65 some lines rejected (unless --allow-rejects), 69 store unavailable, \
            74 I/O error.
            """
    )

    @Option(help: "Where the dt=YYYY-MM-DD/ folders are: s3://bucket/prefix or a directory.")
    var source: String

    @Option(help: "Where the Parquet output goes: s3://bucket/prefix or a directory.")
    var dest: String

    @Option(help: "The date to process, YYYY-MM-DD (default: yesterday, UTC).")
    var date: String?

    @Flag(help: "Process every date found under the source.")
    var all = false

    @Option(help: "Parquet page compression: zstd, snappy, gzip or none.")
    var compression: CompressionCodec = .zstd

    @Option(help: "Rows per Parquet row group (memory is bounded by this).")
    var rowGroupRows = 1_000_000

    @Option(help: "Buffered megabytes at which a row group is cut before --row-group-rows (memory is bounded by this).")
    var rowGroupMB = 64

    @Option(help: "Rows per Parquet part file.")
    var partRows = 10_000_000

    @Flag(help: "Exit 0 even if some lines were rejected.")
    var allowRejects = false

    @OptionGroup var log: LogOptions

    func validate() throws {
        if all && date != nil { throw ValidationError("--date and --all exclude each other") }
        if let date, !Self.isDate(date) { throw ValidationError("--date takes YYYY-MM-DD, got '\(date)'") }
        guard rowGroupRows > 0, rowGroupMB > 0, partRows > 0 else {
            throw ValidationError("--row-group-rows, --row-group-mb and --part-rows must be positive")
        }
    }

    func run() async throws {
        let logger = log.makeLogger(tool: "pin-batch")
        ShutdownSignal.install(restartingSystemCalls: true)
        var rejected = 0
        do {
            let input = try ObjectStores.open(location: source)
            let output = try ObjectStores.open(location: dest)
            let dates = all ? try await Self.dates(in: input.store, prefix: input.prefix) : [date ?? Self.yesterday()]
            if all && dates.isEmpty { logger.warning("no dt=YYYY-MM-DD/ folders under \(source)") }
            for day in dates {
                let job = DateBatch(
                    date: day,
                    source: (input.store, input.prefix, source),
                    dest: (output.store, output.prefix, dest),
                    settings: .init(
                        parquet: ParquetWriter.Options(
                            compression: compression, rowGroupRows: rowGroupRows, rowGroupBytes: rowGroupMB << 20),
                        rowsPerPart: partRows,
                        showProgress: StandardStream.errorIsTerminal
                    ),
                    log: logger
                )
                let report = try await job.run()
                rejected += report.rejects
                StandardStream.writeOutput(report.summary + "\n")
            }
        } catch is ShutdownSignal.Interrupted {
            logger.warning("stopped by a signal; the date being processed keeps its previous parts, without _SUCCESS")
            return
        } catch {
            let failure = BatchError.from(error)
            logger.error(failure.description)
            throw ExitCode(failure.status)
        }
        if rejected > 0 && !allowRejects {
            logger.error("\(rejected) lines rejected; see \(dest)/_rejected/")
            throw ExitStatus.dataError
        }
    }

    /// The dt=YYYY-MM-DD/ folders directly under the source prefix, in date order.
    static func dates(in store: any ObjectStore, prefix: String) async throws -> [String] {
        let listing = try await store.list(prefix: prefix, delimiter: "/")
        return listing.commonPrefixes.compactMap { common in
            let folder = common.dropFirst(prefix.count)
            guard folder.hasPrefix("dt="), folder.hasSuffix("/") else { return nil }
            let day = String(folder.dropFirst(3).dropLast())
            return isDate(day) ? day : nil
        }.sorted()
    }

    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        return components.isValidDate(in: calendar)
    }

    static func yesterday() -> String {
        let day = Date().addingTimeInterval(-86_400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: day)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}

extension CompressionCodec: ExpressibleByArgument {}
