import PinKafka
import Testing

@Suite struct KafkaPropertiesTests {
    @Test func parsesPairsAtTheFirstEquals() throws {
        let pair = try KafkaProperties.parse(pair: "sasl.jaas.config=a=b")
        #expect(pair.key == "sasl.jaas.config")
        #expect(pair.value == "a=b")
        #expect(throws: KafkaError.self) { try KafkaProperties.parse(pair: "=x") }
        #expect(throws: KafkaError.self) { try KafkaProperties.parse(pair: "novalue") }
    }

    @Test func parsesPropertiesFiles() throws {
        let text = """
            # comment
            ! also a comment
            compression.type = zstd
            linger.ms:20

            security.protocol=SASL_SSL\r
            """
        let properties = try KafkaProperties.parse(fileContents: text)
        #expect(properties == ["compression.type": "zstd", "linger.ms": "20", "security.protocol": "SASL_SSL"])
        #expect(throws: KafkaError.self) { try KafkaProperties.parse(fileContents: "just a line") }
    }
}
