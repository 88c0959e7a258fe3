import Foundation
import PinKafka
import Synchronization

/// Asks the cluster for metadata every second on a thread of its own, so `/readyz`
/// answers at once from the last result and never blocks a request thread. A producer in a fatal
/// state is not ready either, whatever the cluster says: it fails every record until restarted.
final class BrokerReadiness: Sendable {
    private let ready = Atomic<Bool>(false)
    private let lastError = Mutex<String?>("not checked yet")
    private let stopped = Atomic<Bool>(false)

    /// `onFatal` is called once, when the producer is first seen in a fatal state.
    func start(producer: KafkaProducer, onFatal: @escaping @Sendable (KafkaError) -> Void) {
        Thread.detachNewThread { [self] in
            var reportedFatal = false
            while !stopped.load(ordering: .relaxed) {
                do {
                    if let fatal = producer.fatalFailure {
                        if !reportedFatal { onFatal(fatal) }
                        reportedFatal = true
                        throw ProducerFailed(reason: fatal.message)
                    }
                    try producer.checkConnection(timeout: .seconds(2))
                    ready.store(true, ordering: .relaxed)
                    lastError.withLock { $0 = nil }
                } catch {
                    ready.store(false, ordering: .relaxed)
                    lastError.withLock { $0 = "\(error)" }
                }
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    private struct ProducerFailed: Error, CustomStringConvertible {
        var reason: String
        var description: String { "the Kafka producer failed for good and pin-api must be restarted: \(reason)" }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    var isReady: Bool { ready.load(ordering: .relaxed) }
    var problem: String? { lastError.withLock { $0 } }
}
