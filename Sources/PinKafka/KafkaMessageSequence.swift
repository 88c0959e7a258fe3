/// Consumed messages as an `AsyncSequence`; see ``KafkaConsumer/messages(maxIdleWait:)``.
/// Iterate it from one task only.
public struct KafkaMessageSequence: AsyncSequence, Sendable {
    public typealias Element = KafkaMessage
    public typealias Failure = KafkaError

    let consumer: KafkaConsumer
    let maxIdleWait: Duration

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer, maxIdleWait: maxIdleWait)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        let maxIdleWait: Duration

        public mutating func next() async throws(KafkaError) -> KafkaMessage? {
            var wait = Duration.milliseconds(1)
            while !Task.isCancelled {
                do {
                    if let message = try consumer.poll(timeout: .zero) { return message }
                } catch where !error.isFatal {
                    // Transient: librdkafka retries on its own; wait like an empty poll.
                }
                do { try await Task.sleep(for: wait) } catch { return nil }
                wait = Swift.min(wait * 2, maxIdleWait)
            }
            return nil
        }
    }
}
