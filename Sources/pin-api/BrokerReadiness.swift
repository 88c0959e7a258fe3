import Foundation
import PinKafka
import Synchronization

/// Asks the cluster for metadata every second on a thread of its own, so `/readyz`
/// answers at once from the last result and never blocks a request thread.
final class BrokerReadiness: Sendable {
    private let ready = Atomic<Bool>(false)
    private let lastError = Mutex<String?>("not checked yet")
    private let stopped = Atomic<Bool>(false)

    func start(producer: KafkaProducer) {
        Thread.detachNewThread { [self] in
            while !stopped.load(ordering: .relaxed) {
                do {
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

    func stop() { stopped.store(true, ordering: .relaxed) }

    var isReady: Bool { ready.load(ordering: .relaxed) }
    var problem: String? { lastError.withLock { $0 } }
}
