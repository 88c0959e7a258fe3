import PinCore
import PinKafka

/// Publishes validated pins to the topic, keyed by `unique_id`, and times each acknowledgement.
struct RecordPublisher: Sendable {
    let producer: KafkaProducer
    let topic: String
    let metrics: APIMetrics

    /// Returns once Kafka acknowledged the record, or failed to within `message.timeout.ms`.
    func publish(_ pin: RawPin) async -> Result<DeliveryReport, KafkaError> {
        await publish(key: Array(pin.uniqueID.utf8), value: pin.jsonBytes())
    }

    /// Publishes an encoded record (`RawPinEncoder`) keyed by its `unique_id`.
    func publish(key: [UInt8], value: [UInt8]) async -> Result<DeliveryReport, KafkaError> {
        let start = ContinuousClock.now
        let result: Result<DeliveryReport, KafkaError>
        do {
            result = .success(try await producer.send(topic: topic, key: key, value: value))
        } catch {
            result = .failure(error)
        }
        metrics.observeProduce(seconds: (ContinuousClock.now - start).inSeconds)
        return result
    }
}
