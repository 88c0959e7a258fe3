import Foundation

/// Carries a task's cancellation to the thread doing its blocking work: curl's progress callback
/// and the retry backoff check it, so a cancelled task's transfer stops within about a second.
final class CancellationFlag: @unchecked Sendable {
    private let condition = NSCondition()
    private var cancelled = false

    /// A flag nobody cancels, for clean-up requests that must go out even after a cancellation.
    static let never = CancellationFlag()

    private static let threadKey = "pinpipe.object-store.cancellation"

    /// The flag of the blocking call running on this thread, or ``never``.
    static var current: CancellationFlag {
        Thread.current.threadDictionary[threadKey] as? CancellationFlag ?? never
    }

    func install() {
        Thread.current.threadDictionary[Self.threadKey] = self
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func check() throws(CancellationError) {
        if isCancelled { throw CancellationError() }
    }

    /// Waits `seconds`, or less if the flag is cancelled meanwhile (then throws).
    func sleep(_ seconds: Double) throws(CancellationError) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        while !cancelled && condition.wait(until: deadline) {}
        let wasCancelled = cancelled
        condition.unlock()
        if wasCancelled { throw CancellationError() }
    }
}
