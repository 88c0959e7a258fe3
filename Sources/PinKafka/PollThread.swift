import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A dedicated OS thread that calls `body` until stopped; `stop()` joins it.
/// Used to serve librdkafka's delivery reports without tying up Swift's cooperative pool.
final class PollThread: Sendable {
    private final class Shared: Sendable {
        let running = Atomic<Bool>(true)
        let body: @Sendable () -> Void
        init(body: @escaping @Sendable () -> Void) { self.body = body }
    }

    private let shared: Shared
    private let thread: Mutex<pthread_t?>
    private let wake: @Sendable () -> Void

    /// - Parameter wake: cuts short a `body` that is waiting, so that `stop()` returns at once
    ///   instead of after the body's timeout.
    init(body: @escaping @Sendable () -> Void, wake: @escaping @Sendable () -> Void = {}) {
        self.wake = wake
        let shared = Shared(body: body)
        self.shared = shared
        var thread = pthread_t()
        let context = Unmanaged.passRetained(shared).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                let shared = Unmanaged<Shared>.fromOpaque(context!).takeRetainedValue()
                while shared.running.load(ordering: .acquiring) { shared.body() }
                return nil
            }, context)
        precondition(result == 0, "pthread_create failed: \(result)")
        self.thread = Mutex(thread)
    }

    func stop() {
        shared.running.store(false, ordering: .releasing)
        wake()
        if let thread = self.thread.withLock({ value -> pthread_t? in
            defer { value = nil }
            return value
        }) {
            pthread_join(thread, nil)
        }
    }

    deinit { stop() }
}
