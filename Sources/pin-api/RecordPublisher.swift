import PinCore
import PinKafka

/// Publishes validated pins to the topic, keyed by `unique_id`, and times each acknowledgement.
struct RecordPublisher: Sendable {
    let producer: KafkaProducer
    let topic: String
    let metrics: APIMetrics

    /// Calls `completion` once Kafka acknowledged the record, or failed to within
    /// `message.timeout.ms`: on the producer's delivery-report thread, so it must not block.
    func publish(
        key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
        completion: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void
    ) {
        let start = ContinuousClock.now
        producer.send(topic: topic, key: key, value: value) { [metrics] result in
            metrics.observeProduce(seconds: (ContinuousClock.now - start).inSeconds)
            completion(result)
        }
    }

    func publish(_ pin: RawPin, completion: @escaping @Sendable (Result<DeliveryReport, KafkaError>) -> Void) {
        let key = Array(pin.uniqueID.utf8)
        let value = pin.jsonBytes()
        key.withUnsafeBytes { key in
            value.withUnsafeBytes { value in publish(key: key, value: value, completion: completion) }
        }
    }
}
