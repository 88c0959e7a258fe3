import CRdKafka
import Synchronization

/// A consumer-group member over one librdkafka handle.
///
/// Threading: poll from one thread or task at a time (``poll(timeout:)`` or the
/// ``messages(maxIdleWait:)`` sequence); librdkafka consumer handles are not meant for concurrent
/// polling. Rebalance hooks run on that polling thread, inside the poll call, so they can commit
/// before the group moves partitions. ``commit(_:)``, ``seek(_:to:timeout:)`` and the queries may
/// be called from the hooks. Offsets are only committed by ``commit(_:)``.
public final class KafkaConsumer: @unchecked Sendable {
    private let client: RDKafkaClient
    private let callbacks: ConsumerCallbacks
    private let closed = Atomic<Bool>(false)
    /// The consumer queue, for batch polls.
    private let queue: OpaquePointer
    /// Reused by ``poll(upTo:timeout:_:)`` (one polling thread at a time).
    private var batch: [UnsafeMutablePointer<rd_kafka_message_t>?] = []
    /// The last topic name read from a message, by topic handle: one String per topic, not per message.
    private var topicName: (handle: OpaquePointer, name: String)?

    public init(configuration: KafkaConsumerConfiguration) throws(KafkaError) {
        let callbacks = ConsumerCallbacks(logHandler: configuration.logHandler)
        self.callbacks = callbacks
        client = try RDKafkaClient(
            type: RD_KAFKA_CONSUMER,
            properties: configuration.librdkafkaProperties,
            callbacks: callbacks
        ) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { handle, err, partitions, opaque in
                guard let handle, let partitions, let opaque else { return }
                Unmanaged<ConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                    .rebalance(handle: handle, err: err, partitions: partitions)
            }
        }
        // Serve errors and logs through consumer_poll as well.
        _ = rd_kafka_poll_set_consumer(client.handle)
        queue = rd_kafka_queue_get_consumer(client.handle)!
        callbacks.consumer.withLock { $0.value = self }
    }

    deinit {
        if !closed.load(ordering: .acquiring) { _ = rd_kafka_consumer_close(client.handle) }
        rd_kafka_queue_destroy(queue)
    }

    /// Joins the group for `topics`. `listener` sees every assignment and revocation.
    public func subscribe(topics: [String], listener: (any KafkaRebalanceListener)? = nil) throws(KafkaError) {
        callbacks.listener.withLock { $0 = listener }
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, -1) }
        try KafkaError.check(rd_kafka_subscribe(client.handle, list), "subscribe to \(topics.joined(separator: ","))")
    }

    /// Reads the given partitions from the given offsets without joining the group (a manual
    /// assignment, replacing any earlier one). Do not mix with ``subscribe(topics:listener:)`` on
    /// the same consumer. Ask this consumer for the topic's ``partitions(topic:)`` first: a
    /// consumer assigned before its connection is up may wait for librdkafka's next scan for
    /// partition leaders, a second later, before it fetches.
    public func assign(_ starts: [TopicPartition: Int64]) throws(KafkaError) {
        let list = TopicPartition.makeList(starts.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_assign(client.handle, list), "assign partitions")
    }

    /// Stops reading the given partitions of a manual assignment (``assign(_:)``) and drops what
    /// was fetched of them; the other partitions go on undisturbed.
    public func unassign(_ partitions: [TopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = TopicPartition.makeList(partitions.map { ($0, KafkaOffset.committed) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_incremental_unassign(client.handle, list) {
            throw KafkaError(consuming: error, "unassign \(partitions.map(\.description).joined(separator: ", "))")
        }
    }

    /// Stops fetching the given assigned partitions until they are resumed (or assigned anew).
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        try changePause(partitions, pause: true)
    }

    /// Fetches the given assigned partitions again after ``pause(_:)``.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        try changePause(partitions, pause: false)
    }

    private func changePause(_ partitions: [TopicPartition], pause: Bool) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = TopicPartition.makeList(partitions.map { ($0, KafkaOffset.committed) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let what = pause ? "pause" : "resume"
        try KafkaError.check(
            pause ? rd_kafka_pause_partitions(client.handle, list) : rd_kafka_resume_partitions(client.handle, list),
            "\(what) partitions")
        for (partition, _, err) in TopicPartition.entries(of: list) where err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, "\(what) \(partition)")
        }
    }

    /// Waits up to `timeout` for one message. Returns nil on timeout (or a partition-EOF event).
    /// Throws for consumer errors; most are transient (librdkafka retries) unless `isFatal`.
    public func poll(timeout: Duration) throws(KafkaError) -> KafkaMessage? {
        let message = rd_kafka_consumer_poll(client.handle, timeout.kafkaMilliseconds)
        defer { if let message { rd_kafka_message_destroy(message) } }
        if let error = callbacks.takePendingError() { throw error }
        guard let message else { return nil }
        let err = message.pointee.err
        if err == RD_KAFKA_RESP_ERR_NO_ERROR { return KafkaMessage(message, topic: name(of: message.pointee.rkt)) }
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
        throw error(of: message)
    }

    /// Waits up to `timeout` for messages and passes up to `maxMessages` of them to `body`, taken
    /// from librdkafka's queue in one call (`rd_kafka_consume_batch_queue`) rather than one poll
    /// each. Rebalance hooks run inside this call, like in ``poll(timeout:)``; when one ran, the
    /// batch is dropped unread (some of its messages may predate the new assignment) and the
    /// result lists the partitions whose messages were dropped: the caller must
    /// ``seek(_:to:timeout:)`` those it still holds to the offsets it expects next. Consumer
    /// errors of single messages (most are transient) are returned, not thrown; errors of the
    /// whole client are thrown.
    public func poll(upTo maxMessages: Int, timeout: Duration, _ body: (KafkaMessage) throws -> Void) throws
        -> KafkaBatchResult
    {
        try pollInPlace(upTo: maxMessages, timeout: timeout) { try body($0.copy()) }
    }

    /// ``poll(upTo:timeout:_:)`` without copying: each message is passed as a view of librdkafka's
    /// buffer, valid only during the call to `body`.
    public func pollInPlace(upTo maxMessages: Int, timeout: Duration, _ body: (KafkaMessageView) throws -> Void)
        throws -> KafkaBatchResult
    {
        if batch.count < maxMessages { batch = Array(repeating: nil, count: maxMessages) }
        let rebalancesBefore = callbacks.rebalances.load(ordering: .acquiring)
        callbacks.batching.store(true, ordering: .releasing)
        let count = batch.withUnsafeMutableBufferPointer { slots in
            rd_kafka_consume_batch_queue(queue, timeout.kafkaMilliseconds, slots.baseAddress, maxMessages)
        }
        callbacks.batching.store(false, ordering: .releasing)
        if count < 0 { throw client.explained(KafkaError(rd_kafka_last_error(), "consume")) }
        defer { for index in 0..<count { rd_kafka_message_destroy(batch[index]) } }
        if let error = callbacks.takePendingError() { throw error }
        var result = KafkaBatchResult()
        if callbacks.rebalances.load(ordering: .acquiring) != rebalancesBefore {
            var dropped: Set<TopicPartition> = []
            for index in 0..<count {
                guard let message = batch[index], message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                dropped.insert(
                    TopicPartition(topic: name(of: message.pointee.rkt), partition: message.pointee.partition))
            }
            result.dropped = dropped.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
            return result
        }
        for index in 0..<count {
            guard let message = batch[index] else { continue }
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                result.messages += 1
                try body(KafkaMessageView(message, topic: name(of: message.pointee.rkt)))
            } else if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                result.errors.append(error(of: message))
            }
        }
        return result
    }

    private func name(of handle: OpaquePointer?) -> String {
        guard let handle else { return "" }
        if let cached = topicName, cached.handle == handle { return cached.name }
        let name = String(cString: rd_kafka_topic_name(handle))
        topicName = (handle, name)
        return name
    }

    private func error(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError {
        let err = message.pointee.err
        let reason =
            rd_kafka_message_errstr(message).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(err))
        var where_ = ""
        if let rkt = message.pointee.rkt {
            where_ = "\(String(cString: rd_kafka_topic_name(rkt)))[\(message.pointee.partition)]: "
        }
        let fatal = err == RD_KAFKA_RESP_ERR__FATAL
        return client.explained(
            KafkaError(code: .init(rawValue: err.rawValue), message: "consume: \(where_)\(reason)", isFatal: fatal))
    }

    /// Messages as an async sequence over ``poll(timeout:)``. Between empty polls it sleeps,
    /// backing off up to `maxIdleWait`, so it never blocks a cooperative thread. Transient errors
    /// are skipped (librdkafka recovers from them); fatal ones end the sequence by throwing.
    /// Ends when the task is cancelled.
    public func messages(maxIdleWait: Duration = .milliseconds(20)) -> KafkaMessageSequence {
        KafkaMessageSequence(consumer: self, maxIdleWait: maxIdleWait)
    }

    /// Commits explicit offsets: for each partition, the next offset to read. Synchronously by
    /// default; otherwise the request is only queued (commits reach the coordinator in order, and
    /// the outcome of an asynchronous one is not reported).
    public func commit(_ offsets: [TopicPartition: Int64], synchronously: Bool = true) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = TopicPartition.makeList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(rd_kafka_commit(client.handle, list, synchronously ? 0 : 1), "commit offsets")
        guard synchronously else { return }
        for (partition, _, err) in TopicPartition.entries(of: list) where err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, "commit offset of \(partition)")
        }
    }

    /// The group's committed offsets; partitions without one are left out.
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError)
        -> [TopicPartition: Int64]
    {
        let list = TopicPartition.makeList(partitions.map { ($0, KafkaOffset.committed) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        try KafkaError.check(
            rd_kafka_committed(client.handle, list, timeout.kafkaMilliseconds), "read committed offsets")
        var result: [TopicPartition: Int64] = [:]
        for (partition, offset, err) in TopicPartition.entries(of: list) {
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "committed offset of \(partition)") }
            if offset >= 0 { result[partition] = offset }
        }
        return result
    }

    /// Moves the fetch position of an assigned partition; the next message polled from it is at `offset`.
    public func seek(_ partition: TopicPartition, to offset: Int64, timeout: Duration = .seconds(10)) throws(KafkaError)
    {
        let list = TopicPartition.makeList([(partition, offset)])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(client.handle, list, timeout.kafkaMilliseconds) {
            throw KafkaError(consuming: error, "seek \(partition)")
        }
        for (_, _, err) in TopicPartition.entries(of: list) where err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, "seek \(partition) to \(offset)")
        }
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        try KafkaError.check(rd_kafka_assignment(client.handle, &list), "read assignment")
        guard let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return TopicPartition.entries(of: list).map(\.0)
    }

    /// True inside a revoke hook when the partitions were lost (session timeout) rather than
    /// handed over cleanly.
    public var assignmentLost: Bool { rd_kafka_assignment_lost(client.handle) != 0 }

    /// The partition ids of `topic`.
    public func partitions(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32] {
        try client.partitions(topic: topic, timeout: timeout)
    }

    /// Where each partition of `topic` is led, for a ``KafkaPartitionReader``.
    public func partitionLeaders(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError)
        -> [Int32: KafkaBrokerAddress]
    {
        try client.leaders(topic: topic, timeout: timeout)
    }

    /// Low and high watermark of one partition, from the broker.
    public func watermarks(topic: String, partition: Int32, timeout: Duration = .seconds(10)) throws(KafkaError)
        -> KafkaWatermarks
    {
        try client.watermarks(topic: topic, partition: partition, timeout: timeout)
    }

    /// Low and high watermark as the last fetch response reported them, without asking the
    /// broker; nil before any.
    public func cachedWatermarks(of partition: TopicPartition) -> KafkaWatermarks? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, low >= 0, high >= 0 else { return nil }
        return KafkaWatermarks(low: low, high: high)
    }

    /// Leaves the group: runs the revoke hook for the current assignment, then stops fetching.
    /// Call it from the polling thread; the consumer cannot be used afterwards.
    public func close() throws(KafkaError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try KafkaError.check(rd_kafka_consumer_close(client.handle), "close consumer")
    }
}

/// What one ``KafkaConsumer/poll(upTo:timeout:_:)`` did.
public struct KafkaBatchResult: Sendable {
    /// Messages passed to the body.
    public var messages = 0
    /// A rebalance hook ran during the call and the batch was dropped unread: these partitions
    /// had messages in it. Seek those still assigned to the offsets expected next.
    public var dropped: [TopicPartition] = []
    /// Errors the consumer reported for single messages; transient unless `isFatal`.
    public var errors: [KafkaError] = []

    public init() {}
}

/// Rebalance state reached from librdkafka's callback.
final class ConsumerCallbacks: RDKafkaCallbacks, @unchecked Sendable {
    struct WeakConsumer { weak var value: KafkaConsumer? }

    let consumer = Mutex(WeakConsumer())
    let listener = Mutex<(any KafkaRebalanceListener)?>(nil)
    /// How many rebalance events were served so far.
    let rebalances = Atomic<Int>(0)
    /// A batch call is running on the polling thread.
    let batching = Atomic<Bool>(false)
    private let pendingError = Mutex<KafkaError?>(nil)

    func takePendingError() -> KafkaError? {
        pendingError.withLock { error in
            defer { error = nil }
            return error
        }
    }

    func rebalance(
        handle: OpaquePointer, err: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        rebalances.add(1, ordering: .releasing)
        // A batch call that served this hook returns as soon as the queue is empty, rather than
        // waiting out its timeout and taking in messages fetched for the new assignment (only
        // there: rd_kafka_consumer_close waits on the same queue for its own revoke).
        if batching.load(ordering: .acquiring), let queue = rd_kafka_queue_get_consumer(handle) {
            rd_kafka_queue_yield(queue)
            rd_kafka_queue_destroy(queue)
        }
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let consumer = self.consumer.withLock { $0.value }
        let listener = self.listener.withLock { $0 }
        let members = TopicPartition.entries(of: partitions).map(\.0)
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if let consumer, let listener {
                let starts = listener.partitionsAssigned(members, consumer: consumer)
                for index in 0..<Int(partitions.pointee.cnt) {
                    let element = partitions.pointee.elems[index]
                    let member = TopicPartition(topic: String(cString: element.topic), partition: element.partition)
                    if let start = starts[member] { partitions.pointee.elems[index].offset = start }
                }
            }
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, partitions) {
                    record(KafkaError(consuming: error, "assign"))
                }
            } else {
                record(rd_kafka_assign(handle, partitions), "assign")
            }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if let consumer, let listener { listener.partitionsRevoked(members, consumer: consumer) }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, partitions) {
                    record(KafkaError(consuming: error, "unassign"))
                }
            } else {
                record(rd_kafka_assign(handle, nil), "unassign")
            }
        default:
            record(KafkaError(err, "rebalance"))
            _ = rd_kafka_assign(handle, nil)
        }
    }

    private func record(_ err: rd_kafka_resp_err_t, _ context: String) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { record(KafkaError(err, context)) }
    }

    private func record(_ error: KafkaError) {
        pendingError.withLock { $0 = $0 ?? error }
    }
}
