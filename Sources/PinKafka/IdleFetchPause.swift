/// Keeps a caught-up consumer from asking the broker again and again for nothing.
///
/// A fetch for partitions at their end should wait on the broker (up to `fetch.wait.max.ms`) for
/// new messages. A broker that answers at once instead (noida-db, the local stack's) gets the next
/// fetch at once: librdkafka then sends thousands of empty fetches a second, half a core on each
/// side while there is nothing to read. So once polls have found nothing for a while (`settle`)
/// with every assigned partition at its end (by the high watermarks of the last fetch responses,
/// known without asking), the partitions are paused. Every `interval` the broker is asked for
/// their high watermarks (one small request per partition), and fetching resumes as soon as one
/// has moved (or the answer does not come quickly): a message arriving after a quiet spell waits
/// at most about `interval` longer, and a steady stream is never paused.
public struct IdleFetchPause {
    public let interval: Duration
    private var paused: [TopicPartition] = []
    private var checkAt: ContinuousClock.Instant?
    /// Since when every poll found nothing with all partitions at their end.
    private var idleSince: ContinuousClock.Instant?
    /// High watermarks the broker reported when asked: the cached ones stay behind them until
    /// the next fetch response arrives, which must not be mistaken for being at the end again.
    private var reportedHighs: [TopicPartition: Int64] = [:]

    /// How long a consumer stays at the end, finding nothing, before it pauses: longer than the
    /// local broker's stalls under load (pausing then drops the fetch in flight, and its records
    /// wait for the next one: a second at the 99th percentile with 200 ms).
    static let settle = Duration.seconds(1)

    /// How long the check of the high watermarks may take before fetching resumes anyway.
    static let checkTimeout = Duration.milliseconds(200)

    /// Whether fetching is paused now.
    public var isPausing: Bool { checkAt != nil }

    public init(interval: Duration = .milliseconds(50)) {
        self.interval = interval
    }

    /// The timeout for the next poll, given the caller's usual one: while paused, no longer than
    /// until the next check.
    public func pollTimeout(_ usual: Duration) -> Duration {
        guard let checkAt else { return usual }
        return max(.milliseconds(1), min(usual, checkAt - ContinuousClock.now))
    }

    /// Resumes what is paused now, e.g. before a seek (a paused partition's position is librdkafka's to restore).
    public mutating func resumeNow(_ consumer: KafkaConsumer) {
        guard checkAt != nil else { return }
        // A partition revoked meanwhile is not resumed, and needs not be.
        try? consumer.resume(paused)
        paused = []
        checkAt = nil
    }

    /// Call after every poll with whether it returned messages, the assigned partitions and
    /// where the caller will read each next (nil: from the beginning, the low watermark).
    /// `assigned` is evaluated only when needed: not after a poll that returned messages.
    public mutating func afterPoll(
        _ consumer: KafkaConsumer, polledNothing: Bool, assigned: @autoclosure () -> [TopicPartition],
        position: (TopicPartition) -> Int64?
    ) {
        if let checkAt {
            guard ContinuousClock.now >= checkAt else { return }
            if Set(assigned()) == Set(paused) && !hasNewMessages(consumer, position: position) {
                self.checkAt = ContinuousClock.now + interval
            } else {
                resumeNow(consumer)
            }
            return
        }
        guard polledNothing else {
            idleSince = nil
            return
        }
        let assigned = assigned()
        guard !assigned.isEmpty, isAtEnd(consumer, assigned: assigned, position: position) else {
            idleSince = nil
            return
        }
        // A stream that keeps coming has short gaps between fetch responses; pause only after a
        // while at the end, so a steady stream never waits for a check.
        let now = ContinuousClock.now
        guard let idleSince else {
            self.idleSince = now
            return
        }
        guard now - idleSince >= Self.settle else { return }
        self.idleSince = nil
        guard (try? consumer.pause(assigned)) != nil else { return }
        paused = assigned
        checkAt = ContinuousClock.now + interval
    }

    private func isAtEnd(
        _ consumer: KafkaConsumer, assigned: [TopicPartition], position: (TopicPartition) -> Int64?
    ) -> Bool {
        assigned.allSatisfy { partition in
            guard let marks = consumer.cachedWatermarks(of: partition) else { return false }
            return (position(partition) ?? marks.low) >= max(marks.high, reportedHighs[partition] ?? 0)
        }
    }

    /// Whether the broker holds messages past a paused partition's position; true also when it
    /// does not answer in time (fetching then finds out).
    private mutating func hasNewMessages(_ consumer: KafkaConsumer, position: (TopicPartition) -> Int64?) -> Bool {
        reportedHighs = [:]
        for partition in paused {
            guard
                let marks = try? consumer.watermarks(
                    topic: partition.topic, partition: partition.partition, timeout: Self.checkTimeout)
            else { return true }
            reportedHighs[partition] = marks.high
            if (position(partition) ?? marks.low) < marks.high { return true }
        }
        return false
    }
}
