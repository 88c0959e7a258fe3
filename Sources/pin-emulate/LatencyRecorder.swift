/// Collects request latencies and outcomes.
struct LatencyRecorder: Sendable {
    var latencies: [Double] = []  // seconds
    var accepted = 0
    var rejected = 0
    var failed = 0
    var firstFailure: String?
    /// With --ack-log: unique_id and Unix time of each 2xx answer.
    var acks: [(uniqueID: String, time: Double)] = []

    mutating func fail(_ reason: String) {
        failed += 1
        if firstFailure == nil { firstFailure = reason }
    }

    var sent: Int { accepted + rejected + failed }

    /// Nearest-rank percentile in milliseconds.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1] * 1000
    }
}
