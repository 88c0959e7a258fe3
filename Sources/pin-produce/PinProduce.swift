import ArgumentParser
import PinCore
import PinKafka
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

@main
struct PinProduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-produce",
        abstract: "Publish NDJSON Pinterest records from files or stdin to Kafka.",
        discussion: """
            Each non-blank line is validated as a raw pin and published as compact JSON with key \
            unique_id (--raw: sent unchanged, keyed by unique_id when it has one). Invalid lines are \
            reported as FILE:LINE: reason on stderr and copied verbatim to --reject-file. The tool \
            waits for every delivery report. Exit status: 0 all delivered, 65 some lines rejected, \
            69 some deliveries failed or the brokers are unreachable, 74 an input could not be read. \
            SIGINT/SIGTERM stop reading; what was read is still delivered.
            """
    )

    @Argument(help: "NDJSON files; '-' or none reads stdin.")
    var files: [String] = []

    @Flag(help: "Send lines unchanged, without validation.")
    var raw = false

    @Option(help: ArgumentHelp("Copy rejected lines here, verbatim.", valueName: "path"))
    var rejectFile: String?

    @Option(
        help: ArgumentHelp(
            "Write the message of every line whose delivery failed here, one per line, to send again later.",
            valueName: "path"))
    var failedFile: String?

    @Option(help: "Seconds librdkafka keeps retrying a message before its delivery fails (message.timeout.ms).")
    var timeout: Double = 60

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let logger = log.makeLogger(tool: "pin-produce")
        var configuration = KafkaProducerConfiguration(bootstrapServers: kafka.resolvedBrokers)
        configuration.messageTimeoutMilliseconds = Int(timeout * 1000)
        // Full batches rather than quick ones: the idempotent producer keeps at most five requests
        // in flight per partition, and while they are out, messages past a short linger keep its
        // thread polling and then leave in more, smaller requests. Files are read as fast as they
        // come and the end is flushed at once, so only lines from a slow stdin wait up to this
        // long. -X linger.ms wins.
        configuration.lingerMilliseconds = 100
        // About eight requests' worth awaiting acknowledgement, rather than librdkafka's 1 GiB:
        // with the idempotent producer's five requests in flight, a full batch that must wait
        // behind them sets librdkafka's broker thread polling without pause (a core's worth of
        // system time), and a file read far ahead only costs memory.
        // -X queue.buffering.max.kbytes wins.
        configuration.maxPendingKilobytes = 8192
        configuration.logHandler = { level, facility, message in
            logger.log(LogLevel(level), "kafka \(facility): \(message)")
        }
        do {
            for (key, value) in try kafka.parsedProperties() { configuration.properties[key] = value }
        } catch {
            logger.error("\(error)")
            throw ExitStatus.usage
        }
        let topic = kafka.resolvedTopic
        let failed: FailedFile?
        do { failed = try failedFile.map { try FailedFile(path: $0) } } catch {
            logger.error("\(error)")
            throw ExitStatus.ioError
        }
        let shownFailures = Atomic<Int>(0)
        let publisher: LinePublisher
        do {
            publisher = try LinePublisher(
                configuration: configuration, topic: topic, isInterrupted: { ShutdownSignal.requested }
            ) { location, error, value in
                failed?.append(value)
                let shown = shownFailures.add(1, ordering: .relaxed).newValue
                if shown <= 100 {
                    StandardStream.writeError("\(location): delivery failed: \(error)\n")
                } else if shown == 101 {
                    StandardStream.writeError("further delivery failures are counted but not shown\n")
                }
            }
            try publisher.producer.checkConnection(timeout: .seconds(min(10, timeout)))
        } catch  where error.code == .invalidArgument {
            logger.error("\(error)")
            throw ExitStatus.usage
        } catch {
            logger.error("cannot reach Kafka at \(configuration.bootstrapServers): \(error)")
            throw ExitStatus.unavailable
        }

        var rejects: RejectFile?
        if let rejectFile {
            do { rejects = try RejectFile(path: rejectFile) } catch {
                logger.error("\(error)")
                throw ExitStatus.ioError
            }
        }
        ShutdownSignal.install()
        let progress = Progress(enabled: StandardStream.errorIsTerminal)
        let started = ContinuousClock.now
        var inputError: (any Error)?
        let inputs = files.isEmpty ? ["-"] : files
        // Read once: the flag's property wrapper is not free on every line.
        let raw = self.raw
        var encoder = RawPinEncoder()
        reading: for input in inputs {
            let fd = input == "-" ? 0 : open(input, O_RDONLY)
            if fd < 0 {
                inputError = SystemError(operation: "open \(input)", errno: errno)
                break
            }
            defer { if fd != 0 { close(fd) } }
            publisher.beginInput(input)
            // 256 KB: the lines stay in cache from the read to librdkafka's copy.
            var reader = LineReader(source: InterruptibleSource(fileDescriptor: fd, name: input), bufferSize: 256 << 10)
            do {
                try reader.forEachLine { number, line in
                    let reason =
                        raw
                        ? try publisher.publish(line, number: number, as: RawLine.message(line))
                        : try Self.publishValidated(line, number: number, encoder: &encoder, to: publisher)
                    if let reason {
                        StandardStream.writeError("\(input):\(number): \(reason)\n")
                        try rejects?.append(line)
                    }
                    if number & 0xFFF == 0 {
                        try ShutdownSignal.check()
                        progress.update(publisher.totals)
                    }
                }
            } catch is ShutdownSignal.Interrupted {
                break reading
            } catch let error as KafkaError where error.code == .queueFull {
                // Only a signal ends a wait for room (the broker slow or gone): that line was not sent.
                break reading
            } catch {
                inputError = error
                break reading
            }
            if ShutdownSignal.requested { break }
        }
        if ShutdownSignal.requested { logger.info("stopping: delivering what was read") }

        // Wait for every delivery report (bounded by message.timeout.ms); a second signal abandons them.
        var abandoned = 0
        while publisher.totals.pending > 0 {
            if ShutdownSignal.count >= 2 {
                abandoned = publisher.totals.pending
                break
            }
            try? publisher.producer.flush(timeout: .milliseconds(250))
            progress.update(publisher.totals)
        }
        progress.finish()
        do { try rejects?.close() } catch { inputError = inputError ?? error }
        if abandoned > 0 {
            // Their reports come now, as failures (into the failed file with the others).
            publisher.producer.abandonPending()
            try? publisher.producer.flush(timeout: .seconds(1))
            logger.error("gave up on \(abandoned) messages on a second signal; the broker may have stored some of them")
        }
        do { try failed?.close() } catch { inputError = inputError ?? error }

        let totals = publisher.totals
        let seconds =
            Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - started).components.seconds)
        let rate = seconds > 0 ? Double(totals.delivered) / seconds : 0
        logger.info(
            "\(totals.delivered) records published, \(totals.rejected) rejected, \(totals.failed) failed "
                + "in \(String(format2: seconds)) s (\(Int(rate)) records/s)",
            [
                ("records", "\(totals.delivered)"), ("rejected", "\(totals.rejected)"),
                ("failed", "\(totals.failed)"),
                ("seconds", String(format2: seconds)), ("records_per_s", "\(Int(rate))"),
            ]
        )
        if let failedFile, totals.failed > 0 {
            logger.error("the \(totals.failed) messages that failed are in \(failedFile), to send again")
        }
        if let inputError {
            logger.error("\(inputError)")
            throw ExitStatus.ioError
        }
        if totals.failed > 0 { throw ExitStatus.unavailable }
        if totals.rejected > 0 { throw ExitStatus.dataError }
    }

    /// Validates one line and publishes it as compact JSON keyed by `unique_id` (the bytes of
    /// `RawPin(parsing:).jsonBytes()`, written into the encoder's buffer); the reason if rejected.
    static func publishValidated(
        _ line: UnsafeBufferPointer<UInt8>, number: Int, encoder: inout RawPinEncoder, to publisher: LinePublisher
    ) throws -> String? {
        let record: RawPinEncoder.Encoded
        do {
            record = try encoder.encode(line)
        } catch {
            return try publisher.publish(line, number: number, as: .rejected(reason: error.description))
        }
        return try encoder.buffer.withUnsafeBytes { bytes in
            try publisher.publish(
                line, number: number,
                as: .borrowed(
                    key: UnsafeRawBufferPointer(rebasing: bytes[record.key]),
                    value: UnsafeRawBufferPointer(rebasing: bytes[record.value])))
        }
    }
}

extension LogLevel {
    init(_ level: KafkaLogLevel) {
        switch level {
        case .debug: self = .debug
        case .info: self = .info
        case .warning: self = .warning
        case .error: self = .error
        }
    }
}

extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
