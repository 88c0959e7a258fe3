import Synchronization

/// Request counts, produce latency and in-flight requests, rendered as Prometheus text.
final class APIMetrics: Sendable {
    /// Upper bounds of the produce-latency histogram, in seconds.
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct State {
        var requests: [RouteStatus: Int] = [:]
        var bucketCounts = [Int](repeating: 0, count: APIMetrics.latencyBuckets.count)
        var latencyCount = 0
        var latencySum = 0.0
        var records: [String: Int] = [:]
    }

    private struct RouteStatus: Hashable {
        var route: String
        var status: Int
    }

    private let state = Mutex(State())
    private let inFlight = Atomic<Int>(0)

    /// Requests begun (their head read) and not yet answered.
    var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }

    func requestStarted() { inFlight.add(1, ordering: .relaxed) }

    /// A request whose connection closed before it was complete.
    func requestAbandoned() { inFlight.subtract(1, ordering: .relaxed) }

    func requestFinished(route: String, status: Int) {
        inFlight.subtract(1, ordering: .relaxed)
        state.withLock { $0.requests[RouteStatus(route: route, status: status), default: 0] += 1 }
    }

    /// Seconds from handing a record to the producer to its acknowledgement (or failure).
    func observeProduce(seconds: Double) {
        state.withLock { state in
            state.latencyCount += 1
            state.latencySum += seconds
            if let bucket = Self.latencyBuckets.firstIndex(where: { seconds <= $0 }) {
                state.bucketCounts[bucket] += 1
            }
        }
    }

    /// Records by outcome: accepted, rejected, failed.
    func countRecords(_ outcome: String, _ count: Int = 1) {
        state.withLock { $0.records[outcome, default: 0] += count }
    }

    func prometheusText() -> String {
        let snapshot = state.withLock { $0 }
        var text = "# HELP pinapi_requests_total HTTP requests by route and status.\n"
        text += "# TYPE pinapi_requests_total counter\n"
        for (key, count) in snapshot.requests.sorted(by: {
            ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status)
        }) {
            text += "pinapi_requests_total{route=\"\(key.route)\",status=\"\(key.status)\"} \(count)\n"
        }
        text += "# HELP pinapi_records_total Records by outcome.\n# TYPE pinapi_records_total counter\n"
        for outcome in ["accepted", "rejected", "failed"] {
            text += "pinapi_records_total{outcome=\"\(outcome)\"} \(snapshot.records[outcome, default: 0])\n"
        }
        text += "# HELP pinapi_produce_seconds Time from produce to Kafka acknowledgement.\n"
        text += "# TYPE pinapi_produce_seconds histogram\n"
        var cumulative = 0
        for (bound, count) in zip(Self.latencyBuckets, snapshot.bucketCounts) {
            cumulative += count
            text += "pinapi_produce_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "pinapi_produce_seconds_bucket{le=\"+Inf\"} \(snapshot.latencyCount)\n"
        text += "pinapi_produce_seconds_sum \(snapshot.latencySum)\n"
        text += "pinapi_produce_seconds_count \(snapshot.latencyCount)\n"
        text += "# HELP pinapi_requests_in_flight Requests being handled now.\n# TYPE pinapi_requests_in_flight gauge\n"
        text += "pinapi_requests_in_flight \(inFlight.load(ordering: .relaxed))\n"
        return text
    }
}
