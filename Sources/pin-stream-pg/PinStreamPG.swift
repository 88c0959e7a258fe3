import ArgumentParser
import PinCore
import PinKafka
import PinPostgres

@main
struct PinStreamPG: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-stream-pg",
        abstract: "Stream records from Kafka into PostgreSQL with exactly-once upserts.",
        discussion: """
            A consumer-group member that cleans each record and upserts it into --table (created if missing: \
            the clean columns, unique_id primary key, kafka_partition, kafka_offset, ingested_at) in \
            micro-batches: COPY into a staging table, then one INSERT … ON CONFLICT (unique_id) DO UPDATE per \
            batch, duplicates inside a batch collapsed (the highest offset wins). Records that are not valid \
            pins go to <table>_rejected with topic, partition, offset, raw value and reason. The next offset \
            per partition is stored in <table>_offsets in the same transaction, and every assigned partition \
            resumes from there: a crash or rebalance at any moment neither loses nor repeats a record. \
            Partitions with no stored offset start at the beginning of the topic. Kafka group offsets are \
            committed too, after PostgreSQL, for lag monitoring only.

            PostgreSQL outages are retried with backoff and one log line per failure: forever, or with \
            --once for at most --max-retry-time seconds (then exit 69). SIGINT/SIGTERM commit the batch in \
            flight (or abandon it if PostgreSQL is down) and exit 0.

            Exit status: 0 ok (streaming mode also when records were rejected: they are kept in the \
            dead-letter table and counted in the summary); with --once 65 when this run rejected any record; \
            64 usage; 69 Kafka or PostgreSQL unavailable; 70 internal error.
            """
    )

    @Option(help: "PostgreSQL conninfo or URL (env DATABASE_URL, else libpq's PG* defaults).")
    var db: String?

    @Option(help: "Table for the pins; <table>_rejected and <table>_offsets sit beside it.")
    var table = "pins"

    @Option(help: "Consumer group.")
    var group = "pin-stream-pg"

    @Option(help: "Most records per transaction.")
    var maxBatch = 5_000

    @Option(help: ArgumentHelp("Longest a record waits before its batch is committed.", valueName: "milliseconds"))
    var maxWait = 500

    @Flag(help: "Consume up to the end offsets seen at start, commit, exit.")
    var once = false

    @Option(
        help: ArgumentHelp(
            "With --once: give up (exit 69) when PostgreSQL stays unreachable this long.", valueName: "seconds"))
    var maxRetryTime: Double = 60

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard maxBatch > 0 else { throw ValidationError("--max-batch must be positive") }
        guard maxWait > 0 else { throw ValidationError("--max-wait must be positive") }
        guard maxRetryTime > 0 else { throw ValidationError("--max-retry-time must be positive") }
    }

    func run() throws {
        let logger = log.makeLogger(tool: "pin-stream-pg")
        ShutdownSignal.install()
        let topic = kafka.resolvedTopic
        let retry = RetryPolicy(limit: once ? .milliseconds(Int64(maxRetryTime * 1000)) : nil)

        var configuration = KafkaConsumerConfiguration(bootstrapServers: kafka.resolvedBrokers, groupID: group)
        // The local broker ignores fetch limits and may answer with more than librdkafka's default maximum.
        configuration.properties["receive.message.max.bytes"] = "2147483647"
        for (key, value) in Self.prefetchDefaults { configuration.properties[key] = value }
        for (key, value) in try kafka.parsedProperties() { configuration.properties[key] = value }
        let consumer: KafkaConsumer
        var topicExists = true
        do {
            consumer = try KafkaConsumer(configuration: configuration)
            // Fail fast on unreachable brokers or bad security settings; a missing topic is fine (the group
            // assigns its partitions once it exists; --once then has nothing to read).
            do {
                _ = try consumer.partitions(topic: topic)
            } catch  where error.code == .unknownTopicOrPartition {
                logger.warning("topic \(topic) does not exist (yet)")
                topicExists = false
            }
        } catch  where error.code == .invalidArgument {
            logger.error("\(error)")
            throw ExitStatus.usage
        } catch {
            logger.error("cannot reach Kafka at \(configuration.bootstrapServers): \(error)")
            throw ExitStatus.unavailable
        }

        if once && !topicExists {
            summarize(StreamTotals(), seconds: 0, logger: logger)
            return
        }

        let sink: PinSink
        do {
            let conninfo = db ?? Environment.value("DATABASE_URL") ?? ""
            let connection = try retry.run("connecting", logger: logger) { try PostgresConnection(conninfo) }
            sink = try PinSink(connection: connection, table: table)
            try retry.run("creating tables", logger: logger) {
                if !connection.isHealthy { try connection.reset() }
                try sink.createTablesIfMissing()
            }
        } catch let error as StreamError {
            if error.status != ExitStatus.ok { logger.error("\(error)") }
            throw error.status
        } catch let error as PostgresError where error.kind == .configuration || error.kind == .invalidValue {
            logger.error("\(error)")
            throw ExitStatus.usage
        } catch {
            logger.error("\(error)")
            throw ExitStatus.software
        }

        let started = ContinuousClock.now
        let stream = StreamSink(
            consumer: consumer, sink: sink,
            settings: .init(
                topic: topic, maxBatch: maxBatch, maxWait: .milliseconds(maxWait), once: once, retry: retry),
            logger: logger, progress: StreamProgress(enabled: StandardStream.errorIsTerminal))
        var failure: StreamError?
        do { _ = try stream.run() } catch { failure = error }
        summarize(stream.totals, seconds: (ContinuousClock.now - started).inSeconds, logger: logger)
        if let failure {
            if failure.status == ExitStatus.ok {
                logger.warning("\(failure)")
            } else {
                logger.error("\(failure)")
            }
            throw failure.status
        }
        if once && stream.totals.rejected > 0 { throw ExitStatus.dataError }
    }

    /// librdkafka fetches again whenever its queue holds fewer than `queued.min.messages` (100,000 by
    /// default). A broker that ignores `fetch.wait.max.ms` answers an empty fetch at once, so while the
    /// consumer works through a backlog already fetched it would be asked again and again, on the cores
    /// the sink needs. -X overrides.
    static let prefetchDefaults = [
        "queued.max.messages.kbytes": "16384",
        "queued.min.messages": "10000",
    ]

    private func summarize(_ totals: StreamTotals, seconds: Double, logger: StderrLogger) {
        let rate = seconds > 0 ? Int(Double(totals.records) / seconds) : 0
        logger.info(
            "\(totals.records) records, \(totals.upserted) upserted, \(totals.duplicates) duplicates collapsed, "
                + "\(totals.rejected) rejected in \(String(format2: seconds)) s (\(rate) records/s)",
            [
                ("records", "\(totals.records)"), ("upserted", "\(totals.upserted)"),
                ("duplicates", "\(totals.duplicates)"), ("rejected", "\(totals.rejected)"),
                ("seconds", String(format2: seconds)), ("records_per_s", "\(rate)"),
            ])
    }
}
