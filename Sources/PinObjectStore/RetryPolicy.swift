/// Exponential backoff with jitter for transient failures (5xx, 429/SlowDown, broken connections).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included; 1 disables retries.
    public var maxAttempts: Int = 5
    /// The delay ceiling before the first retry, in seconds; it doubles with every attempt.
    public var initialDelay: Double = 0.2
    /// The largest delay ceiling, in seconds.
    public var maxDelay: Double = 10

    public init(maxAttempts: Int = 5, initialDelay: Double = 0.2, maxDelay: Double = 10) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// How long to wait after failed attempt number `attempt` (1-based): a random value between half
    /// the ceiling and the ceiling, so that many clients backing off at once spread out.
    public func delay(afterAttempt attempt: Int) -> Double {
        let ceiling = min(maxDelay, initialDelay * Double(1 << min(max(0, attempt - 1), 30)))
        return ceiling / 2 + Double.random(in: 0...(ceiling / 2))
    }
}
