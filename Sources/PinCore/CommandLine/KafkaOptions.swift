import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// Kafka settings shared by every tool that talks to a broker (SPEC §2).
public struct KafkaOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "Bootstrap brokers, host:port[,host:port…] (env KAFKA_BOOTSTRAP_SERVERS).")
    public var brokers: String?

    @Option(name: .long, help: "Topic (env PIN_TOPIC).")
    public var topic: String?

    @Option(
        name: .customShort("X"),
        help: ArgumentHelp("Any librdkafka property, as kcat takes it (repeatable).", valueName: "key=value")
    )
    public var properties: [String] = []

    public init() {}

    public var resolvedBrokers: String {
        brokers ?? Environment.value("KAFKA_BOOTSTRAP_SERVERS") ?? "localhost:9092"
    }

    public var resolvedTopic: String {
        topic ?? Environment.value("PIN_TOPIC") ?? "pinterest_topic"
    }

    /// The `-X` pairs split at the first `=`.
    public func parsedProperties() throws -> [(key: String, value: String)] {
        try properties.map { pair in
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("-X takes key=value, got '\(pair)'")
            }
            return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
        }
    }

    public func validate() throws {
        _ = try parsedProperties()
    }
}

/// Reads the process environment; empty values count as unset.
public enum Environment {
    public static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}
