import ArgumentParser
import PinCore
import PinKafka

@main
struct PinAPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-api",
        abstract: "HTTP API that validates Pinterest records and publishes them to Kafka.",
        discussion: """
            POST /pin/   one raw pin as JSON; 200 with the record once Kafka acknowledged it, 422 with \
            FastAPI-shaped errors for invalid fields, 400 for malformed JSON, 413 over --max-body, 503 with \
            Retry-After when Kafka did not acknowledge within --produce-timeout.
            POST /pins   NDJSON or a JSON array of pins; reports each record's outcome.
            GET /healthz, GET /readyz (broker reachable), GET /metrics (Prometheus text).

            Example:
              pin-api --port 8000 --brokers localhost:9092 --topic pinterest_topic
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one; the log says which).")
    var port = 8000

    @Option(help: "Largest request body in bytes.")
    var maxBody = 1 << 20

    @Option(help: "Seconds to wait for Kafka's acknowledgement before answering 503.")
    var produceTimeout: Double = 5

    @Option(help: "Require 'Authorization: Bearer TOKEN' on POST routes (env PIN_API_TOKEN).")
    var token: String?

    @Option(help: "Seconds a connection may stay silent between requests before it is closed (0: never).")
    var idleTimeout: Double = 75

    @Option(help: "Event-loop threads serving connections (default: one per core).")
    var threads: Int?

    @Flag(inversion: .prefixedNo, help: "Log one line per request to stderr.")
    var accessLog = true

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive") }
        guard produceTimeout > 0 else { throw ValidationError("--produce-timeout must be positive") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard idleTimeout >= 0 else { throw ValidationError("--idle-timeout must be 0 or more") }
    }

    func run() throws {
        ShutdownSignal.install(restartingSystemCalls: true)
        let logger = log.makeLogger(tool: "pin-api")
        var configuration = KafkaProducerConfiguration(bootstrapServers: kafka.resolvedBrokers)
        // librdkafka fails a message it could not deliver in time, so a 503 means "not stored by us".
        configuration.messageTimeoutMilliseconds = Int(produceTimeout * 1000)
        // Every request waits for its acknowledgement, so a long linger only adds to each answer's
        // latency; 0 wakes librdkafka's thread for every record and sends more, smaller requests.
        // One millisecond gave the most records/s and the lowest p99 (docs/delivery.md). -X wins.
        configuration.lingerMilliseconds = 1
        // LZ4 makes the topic smaller (a pin's JSON: 1.6x in the 3-record batches of 2,000 records/s,
        // more in the larger batches of higher rates) for 2-4 µs of CPU per record; it also halved
        // the p99 under load against the local broker (docs/delivery.md). Every Kafka
        // client reads it. -X wins, as for every property.
        configuration.compressionType = "lz4"
        for (key, value) in try kafka.parsedProperties() { configuration.properties[key] = value }
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(configuration: configuration)
        } catch {
            logger.error("cannot create the Kafka producer: \(error)")
            throw ExitStatus.usage
        }
        let metrics = APIMetrics()
        let readiness = BrokerReadiness()
        readiness.start(producer: producer) { fatal in
            logger.error(
                "the Kafka producer failed for good; every record now gets 503 until pin-api is restarted: \(fatal.message)"
            )
        }
        let routes = PinRoutes(
            publisher: RecordPublisher(producer: producer, topic: kafka.resolvedTopic, metrics: metrics),
            readiness: readiness, metrics: metrics,
            token: (token ?? Environment.value("PIN_API_TOKEN")).map { Array($0.utf8) },
            retryAfter: max(1, Int(produceTimeout)))
        let server = HTTPServer(
            host: host, port: port, threads: threads, routes: routes, metrics: metrics, logger: logger,
            maxBody: maxBody, accessLog: accessLog, idleTimeout: idleTimeout > 0 ? idleTimeout : nil)

        // SIGTERM/SIGINT: stop accepting, finish the requests in flight, then flush the producer.
        do {
            try server.run(drainTimeout: .seconds(produceTimeout + 5)) { address in
                logger.info(
                    "listening on http://\(address)",
                    [("brokers", kafka.resolvedBrokers), ("topic", kafka.resolvedTopic)])
            }
        } catch {
            logger.error("cannot listen on \(host):\(port): \(error)")
            throw ExitStatus.unavailable
        }
        readiness.stop()
        do {
            try producer.flush(timeout: .seconds(produceTimeout + 5))
            logger.info("stopped; producer flushed")
        } catch {
            logger.error("stopped with records still unacknowledged: \(error)")
            throw ExitStatus.unavailable
        }
    }
}
