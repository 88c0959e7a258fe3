import Dispatch
import Synchronization

/// Runs async object-store work from the synchronous poll thread (rebalance hooks run inside
/// `poll`, so they cannot await). Call it only from a thread outside Swift's cooperative pool.
public enum BlockingBridge {
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
