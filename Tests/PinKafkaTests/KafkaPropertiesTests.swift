import Testing

@testable import PinKafka

@Suite struct KafkaPropertiesTests {
    @Test func secretPropertiesAreRecognised() {
        #expect(KafkaProperties.isSecret("sasl.password"))
        #expect(KafkaProperties.isSecret("ssl.key.password"))
        #expect(KafkaProperties.isSecret("sasl.oauthbearer.client.secret"))
        #expect(KafkaProperties.isSecret("ssl.key.pem"))
        #expect(!KafkaProperties.isSecret("bootstrap.servers"))
        #expect(!KafkaProperties.isSecret("compression.type"))
    }
}
