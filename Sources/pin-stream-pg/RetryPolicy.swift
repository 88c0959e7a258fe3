import PinCore
import PinPostgres

#if canImport(Glibc)
    import Glibc
#endif

/// How long PostgreSQL outages are waited out: up to `limit` (with --once), or forever with backoff.
struct RetryPolicy {
    /// Give up (exit 69) when one outage lasts this long; nil retries until a signal arrives.
    var limit: Duration?
    var initialBackoff: Duration = .milliseconds(250)
    var maxBackoff: Duration = .seconds(10)

    /// Runs `body` until it succeeds, waiting out transient PostgreSQL errors (connection loss, server
    /// restarts, deadlocks) with one log line per failure. `body` must be safe to repeat. Other errors,
    /// including `PinSink.OffsetConflict`, are rethrown at once.
    func run<T>(_ what: String, logger: StderrLogger, _ body: () throws -> T) throws -> T {
        let started = ContinuousClock.now
        var attempt = 0
        var backoff = initialBackoff
        while true {
            do {
                let value = try body()
                if attempt > 0 {
                    let seconds = String(format2: (ContinuousClock.now - started).inSeconds)
                    logger.info("PostgreSQL is reachable again after \(seconds) s; done \(what)")
                }
                return value
            } catch let error as PostgresError where error.isTransient {
                attempt += 1
                let elapsed = ContinuousClock.now - started
                if let limit, elapsed >= limit {
                    throw StreamError(
                        status: ExitStatus.unavailable,
                        message:
                            "PostgreSQL unavailable for \(Int(elapsed.inSeconds)) s while \(what), giving up: \(error)")
                }
                var wait = backoff
                if let limit { wait = min(wait, limit - elapsed) }
                logger.warning(
                    "PostgreSQL unavailable while \(what) (attempt \(attempt)), retrying in \(String(format2: wait.inSeconds)) s: \(error)"
                )
                try sleep(wait)
                backoff = min(backoff * 2, maxBackoff)
            }
        }
    }

    /// Sleeps in short slices so that SIGTERM/SIGINT ends the wait.
    private func sleep(_ duration: Duration) throws(StreamError) {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if ShutdownSignal.requested { throw .interrupted }
            let slice = min(.milliseconds(100), deadline - ContinuousClock.now)
            usleep(UInt32(max(0, slice.inSeconds * 1_000_000)))
        }
        if ShutdownSignal.requested { throw .interrupted }
    }
}
