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

    @Option(
        name: [.customShort("F"), .customLong("properties-file")],
        help: ArgumentHelp(
            "A file of librdkafka properties, key=value lines (# or ! starts a comment), as kcat -F reads it; -X wins.",
            valueName: "file")
    )
    public var propertiesFile: String?

    public init() {}

    public var resolvedBrokers: String {
        brokers ?? Environment.value("KAFKA_BOOTSTRAP_SERVERS") ?? "localhost:9092"
    }

    public var resolvedTopic: String {
        topic ?? Environment.value("PIN_TOPIC") ?? "pinterest_topic"
    }

    /// The properties of the `-F` file, then the `-X` pairs (so that a later one wins). A `-X`
    /// pair splits at its first `=`; a file line, Java-style, at its first `=` or `:`, trimmed.
    public func parsedProperties() throws -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        if let propertiesFile {
            let fd = open(propertiesFile, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ValidationError("cannot read -F \(propertiesFile): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            // Blank lines and line ends (LF or CRLF) are the reader's to drop.
            var reader = LineReader(fileDescriptor: fd, name: propertiesFile)
            try reader.forEachLine { number, bytes in
                let text = String(decoding: bytes, as: UTF8.self).trimmingASCIIWhitespace()
                if text.hasPrefix("#") || text.hasPrefix("!") { return }
                guard let split = text.firstIndex(where: { $0 == "=" || $0 == ":" }), split != text.startIndex else {
                    // The line is not echoed: it may hold a secret.
                    throw ValidationError("\(propertiesFile):\(number): expected key=value")
                }
                pairs.append(
                    (
                        text[..<split].trimmingASCIIWhitespace(),
                        text[text.index(after: split)...].trimmingASCIIWhitespace()
                    ))
            }
        }
        for (number, pair) in properties.enumerated() {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                // Not echoed: a mistyped pair may hold a secret (sasl.password:…).
                throw ValidationError("-X takes key=value; -X number \(number + 1) is not one")
            }
            pairs.append((String(pair[..<equals]), String(pair[pair.index(after: equals)...])))
        }
        return pairs
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

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line ends.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
