/// Keeps a caught-up consumer from asking the broker again and again for nothing.
///
/// A fetch for partitions at their end should wait on the broker (up to `fetch.wait.max.ms`) for
/// new messages. A broker that answers at once instead (noida-db, the local stack's) gets the next
/// fetch at once: librdkafka then sends thousands of empty fetches a second, half a core on each
/// side while there is nothing to read. So after a poll that returned nothing while every
/// assigned partition is at its end (by the high watermarks of the last fetch responses, known
/// without asking), the partitions are paused for `interval` and then resumed: a new message
/// waits at most that much longer. Against a broker that waits, the pause changes nothing.
public struct IdleFetchPause {
    public let interval: Duration
    private var paused: [TopicPartition] = []
    private var resumeAt: ContinuousClock.Instant?

    /// Whether fetching is paused now.
    public var isPausing: Bool { resumeAt != nil }

    public init(interval: Duration = .milliseconds(100)) {
        self.interval = interval
    }

    /// Resumes what is paused now, e.g. before a seek (a paused partition's position is librdkafka's to restore).
    public mutating func resumeNow(_ consumer: KafkaConsumer) {
        guard resumeAt != nil else { return }
        try? consumer.resume(paused)
        paused = []
        resumeAt = nil
    }

    /// Call after every poll with whether it returned messages, the assigned partitions and
    /// where the caller will read each next (nil: from the beginning, the low watermark).
    public mutating func afterPoll(
        _ consumer: KafkaConsumer, polledNothing: Bool, assigned: [TopicPartition],
        position: (TopicPartition) -> Int64?
    ) {
        if let resumeAt {
            // A partition revoked meanwhile is not resumed, and needs not be.
            if ContinuousClock.now >= resumeAt { resumeNow(consumer) }
            return
        }
        guard polledNothing, !assigned.isEmpty else { return }
        for partition in assigned {
            guard let marks = consumer.cachedWatermarks(of: partition), (position(partition) ?? marks.low) >= marks.high
            else { return }
        }
        guard (try? consumer.pause(assigned)) != nil else { return }
        paused = assigned
        resumeAt = ContinuousClock.now + interval
    }
}
