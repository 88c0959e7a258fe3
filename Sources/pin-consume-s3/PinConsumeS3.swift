import ArgumentParser
import Foundation
import PinArchive
import PinCompression
import PinCore
import PinKafka
import PinObjectStore

@main
struct PinConsumeS3: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-consume-s3",
        abstract: "Archive a Kafka topic to S3 or a directory as NDJSON objects, exactly once.",
        discussion: """
            Objects: <dest>/<topic>/dt=YYYY-MM-DD/<topic>+<partition>+<first offset, 20 digits>.jsonl (.jsonl.gz or \
            .jsonl.zst with --compression), one message value per line (newline bytes inside a value become spaces). Offsets are committed only after the object \
            is stored; a restarted consumer resumes after the newest stored object, so every offset lands in exactly \
            one object. See docs/pin-consume-s3.md.
            """
    )

    @Option(name: .long, help: "Where to write: s3://bucket/prefix or a directory.")
    var dest: String

    @Option(name: .long, help: "Consumer group.")
    var group = "pin-consume-s3"

    @Option(name: .long, help: "Flush a partition's object after this many records.")
    var flushRecords = 10_000

    @Option(name: .long, help: "Flush a partition's object at this many bytes.")
    var flushBytes = 16 << 20

    @Option(name: .long, help: "Flush a partition's object when its first record is this many seconds old.")
    var flushInterval: Double = 60

    @Option(name: .long, help: "Bytes buffered across all partitions; above it the largest buffer is flushed.")
    var maxBufferBytes = 64 << 20

    @Option(name: .long, help: "Compress each object as a whole: none, gzip (.jsonl.gz) or zstd (.jsonl.zst).")
    var compression: Compression = .none

    @Flag(name: .long, help: "Consume up to the end offsets seen at start, flush, commit and exit.")
    var once = false

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard flushRecords > 0, flushBytes > 0, maxBufferBytes > 0 else {
            throw ValidationError("--flush-records, --flush-bytes and --max-buffer-bytes must be positive")
        }
        guard flushInterval > 0 else { throw ValidationError("--flush-interval must be positive") }
    }

    func run() throws {
        let logger = log.makeLogger(tool: "pin-consume-s3")
        let started = ContinuousClock.now
        let topic = kafka.resolvedTopic
        do {
            let (store, prefix) = try ObjectStores.open(location: dest)
            // Fail before joining the group if the destination is unusable (missing bucket, bad credentials).
            let folder = ArchiveObjectName.topicFolder(prefix: prefix, topic: topic)
            _ = try BlockingBridge.wait { try await store.list(prefix: folder, delimiter: "/") }

            var configuration = KafkaConsumerConfiguration(bootstrapServers: kafka.resolvedBrokers, groupID: group)
            // noida-db and far-behind consumers: fetch sizes are not honoured, so accept any size.
            configuration.properties["receive.message.max.bytes"] = "2147483647"
            // Bounded prefetch: librdkafka's consumer defaults queue up to 64 MiB ahead plus a 50 MiB
            // fetch; an archiver gains nothing from more than a few objects' worth. -X overrides both.
            for (key, value) in Self.prefetchDefaults { configuration.properties[key] = value }
            for (key, value) in try kafka.parsedProperties() { configuration.properties[key] = value }
            configuration.logHandler = { level, facility, message in
                switch level {
                case .error: logger.error("librdkafka \(facility): \(message)")
                case .warning: logger.warning("librdkafka \(facility): \(message)")
                case .info, .debug: logger.debug("librdkafka \(facility): \(message)")
                }
            }
            let consumer = try KafkaConsumer(configuration: configuration)
            _ = try consumer.partitions(topic: topic, timeout: .seconds(20))

            ShutdownSignal.install(restartingSystemCalls: true)
            let policy = FlushPolicy(
                maxRecords: flushRecords, maxBytes: flushBytes, maxAge: .milliseconds(Int64(flushInterval * 1000)),
                maxBufferBytes: maxBufferBytes)
            // Backlogs are read from the leaders directly, which needs a plaintext listener.
            let archive = ArchiveConsumer(
                consumer: consumer, store: store, prefix: prefix, topic: topic, policy: policy, once: once,
                compression: compression.format, readsBacklogsDirectly: configuration.isPlaintext, logger: logger)
            logger.info("archiving \(topic) to \(dest)", [("group", group)])
            let statistics = try archive.run { ShutdownSignal.requested }
            Self.printSummary(statistics, seconds: (ContinuousClock.now - started).inSeconds)
        } catch let error as ObjectStoreError {
            logger.error("object store: \(error) (nothing further committed)")
            throw error.kind == .io ? ExitStatus.ioError : ExitStatus.unavailable
        } catch let error as KafkaError {
            logger.error("kafka: \(error) (nothing further committed)")
            throw ExitStatus.unavailable
        } catch let error as CompressionError {
            logger.error("compression: \(error) (nothing further committed)")
            throw ExitStatus.software
        }
    }

    /// librdkafka settings that bound what is fetched ahead of the archive (docs/pin-consume-s3.md, Memory).
    static let prefetchDefaults = [
        "queued.max.messages.kbytes": "16384",
        "queued.min.messages": "10000",
        "fetch.max.bytes": "8388608",
    ]

    enum Compression: String, CaseIterable, ExpressibleByArgument {
        case none, gzip, zstd

        var format: StreamFormat {
            switch self {
            case .none: .none
            case .gzip: .gzip
            case .zstd: .zstd
            }
        }
    }

    private static func printSummary(_ statistics: ArchiveStatistics, seconds: Double) {
        let rate = seconds > 0 ? Double(statistics.records) / seconds : 0
        var line =
            "pin-consume-s3: \(statistics.records) records, \(statistics.objects) objects, \(statistics.bytes) bytes, "
            + "\(statistics.invalidValues) invalid values, \(statistics.valuesWithNewlines) values with newlines, "
            + String(format: "%.1f s, %.0f records/s", seconds, rate)
        if let lag = statistics.lag { line += ", lag \(lag)" }
        StandardStream.writeError(line + "\n")
    }
}
