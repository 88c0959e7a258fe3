import ArgumentParser
import Foundation
import Testing

@testable import PinCore

@Suite struct KafkaOptionsTests {
    private func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kafka-\(UUID().uuidString).properties"
        )
        .path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aPropertiesFileComesFirstAndDashXWins() throws {
        let path = try file(
            """
            # the cluster
            bootstrap.servers = broker-1:9092,broker-2:9092

            \tsasl.password=se=cret
            acks=all
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = try KafkaOptions.parse(["-F", path, "-X", "acks=1", "-X", "linger.ms=7"])
        let pairs = try options.parsedProperties()
        #expect(pairs.map(\.key) == ["bootstrap.servers", "sasl.password", "acks", "acks", "linger.ms"])
        #expect(pairs.map(\.value) == ["broker-1:9092,broker-2:9092", "se=cret", "all", "1", "7"])
        // Applied in order, as the tools do: the -X value is the one that stays.
        let applied = Dictionary(pairs, uniquingKeysWith: { _, last in last })
        #expect(applied["acks"] == "1")
    }

    @Test func aPropertiesFileReadsJavaStyle() throws {
        let path = try file(
            "# comment\n! also a comment\ncompression.type = zstd\nlinger.ms:20\n\nsecurity.protocol=SASL_SSL\r\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pairs = try KafkaOptions.parse(["--properties-file", path]).parsedProperties()
        #expect(pairs.map(\.key) == ["compression.type", "linger.ms", "security.protocol"])
        #expect(pairs.map(\.value) == ["zstd", "20", "SASL_SSL"])
    }

    /// Checked while parsing, so a tool stops with a usage error (64) before it connects.
    @Test func aBadLineIsNamedWithoutItsText() throws {
        let path = try file("acks=all\nhunter2\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(message(["-F", path]) == "\(path):2: expected key=value")
    }

    @Test func aMissingFileOrABadPairIsAUsageError() {
        #expect(
            message(["-F", "/nonexistent/kafka.properties"]).hasPrefix("cannot read -F /nonexistent/kafka.properties"))
        #expect(
            message(["-X", "acks=1", "-X", "sasl.password:hunter2"]) == "-X takes key=value; -X number 2 is not one")
        #expect(KafkaOptions.exitCode(for: ValidationError("x")) == ExitCode(64))
    }

    private func message(_ arguments: [String]) -> String {
        do {
            _ = try KafkaOptions.parse(arguments)
            return "parsed"
        } catch {
            return KafkaOptions.message(for: error)
        }
    }
}
