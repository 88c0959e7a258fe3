import Synchronization

/// Publishes text lines, one message each, from one or more inputs through the producer's bulk
/// path, and keeps the accounts a command like `pin-produce` reports: lines read, rejected and
/// enqueued, deliveries done and failed, each rejection or failure with its `FILE:LINE`.
///
/// Call ``beginInput(_:)`` and ``publish(_:number:as:)`` from one thread.
public final class LinePublisher: @unchecked Sendable {
    /// What to send for one line.
    public enum Message {
        /// The line's bytes unchanged, with an optional key.
        case line(key: [UInt8]?)
        /// The line's bytes unchanged, keyed by the line's own bytes in `keyRange` (no copy).
        case lineKeyedBySlice(keyRange: Range<Int>)
        /// Other bytes (e.g. the validated record re-encoded).
        case bytes(key: [UInt8]?, value: [UInt8])
        /// Other bytes that only need to live through the call (librdkafka copies them), e.g. from
        /// a buffer reused for every line.
        case borrowed(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer)
        /// Not sent: the reason goes to the caller's reject handling.
        case rejected(reason: String)
    }

    /// An input line, printed as `FILE:LINE`.
    public struct Location: Sendable, Hashable, CustomStringConvertible {
        public var input: String
        public var line: Int
        public init(input: String, line: Int) {
            self.input = input
            self.line = line
        }
        public var description: String { "\(input):\(line)" }
    }

    public struct Totals: Sendable, Equatable {
        /// Non-blank lines handed to ``LinePublisher/publish(_:number:as:)``.
        public var read: Int
        public var rejected: Int
        public var enqueued: Int
        public var delivered: Int
        public var failed: Int
        public var pending: Int { enqueued - delivered - failed }

        public init(read: Int, rejected: Int, enqueued: Int, delivered: Int, failed: Int) {
            self.read = read
            self.rejected = rejected
            self.enqueued = enqueued
            self.delivered = delivered
            self.failed = failed
        }
    }

    public let producer: KafkaProducer
    public let topic: String
    /// librdkafka's handle for `topic`, looked up once rather than per line.
    private let topicHandle: OpaquePointer
    private let inputs: Inputs
    /// The current input's index, the high bits of every tag.
    private var inputIndex: UInt = 0
    private var read = 0
    private var rejected = 0

    /// Input names, shared with the delivery-report thread to name failed lines.
    private final class Inputs: Sendable {
        let names = Mutex<[String]>([])
        func location(_ tag: UInt) -> Location {
            let index = Int(tag >> LinePublisher.lineBits)
            let name = names.withLock { index < $0.count ? $0[index] : "?" }
            return Location(input: name, line: Int(tag & ((1 << LinePublisher.lineBits) - 1)))
        }
    }

    /// Tags carry the input index above the line number.
    static let lineBits: UInt = 42

    /// - Parameter onDeliveryFailure: called on the delivery-report thread for each line whose
    ///   delivery failed after librdkafka's retries, with the message's value (valid during the
    ///   call only).
    /// - Parameter isInterrupted: ends a wait for room in the producer's queue (see ``KafkaProducer``):
    ///   ``publish(_:number:as:)`` then throws ``KafkaError/Code/queueFull``.
    public init(
        configuration: KafkaProducerConfiguration,
        topic: String,
        isInterrupted: (@Sendable () -> Bool)? = nil,
        onDeliveryFailure: @escaping @Sendable (Location, KafkaError, UnsafeRawBufferPointer) -> Void
    ) throws(KafkaError) {
        let inputs = Inputs()
        self.inputs = inputs
        self.topic = topic
        producer = try KafkaProducer(
            configuration: configuration,
            deliveryFailureHandler: { tag, error, value in onDeliveryFailure(inputs.location(tag), error, value) },
            isInterrupted: isInterrupted)
        topicHandle = try producer.topicHandle(topic)
    }

    /// Starts the next input; its lines are reported as `name:LINE`.
    public func beginInput(_ name: String) {
        inputIndex = UInt(
            inputs.names.withLock { names in
                names.append(name)
                return names.count - 1
            })
    }

    /// Sends one line as `message`. Returns the reason when the line is rejected: by `message`,
    /// or by librdkafka because it is larger than `message.max.bytes`. Throws when the producer
    /// cannot go on (fatal error).
    public func publish(_ line: UnsafeBufferPointer<UInt8>, number: Int, as message: Message) throws(KafkaError)
        -> String?
    {
        read += 1
        let tag = inputIndex << Self.lineBits | UInt(number)
        do {
            switch message {
            case .rejected(let reason):
                rejected += 1
                return reason
            case .line(let key):
                try produce(key: key, value: UnsafeRawBufferPointer(line), tag: tag)
            case .lineKeyedBySlice(let keyRange):
                let key = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(line)[keyRange])
                try producer.produce(topicHandle, key: key, value: UnsafeRawBufferPointer(line), tag: tag)
            case .bytes(let key, let value):
                try value.withTypedBytes { (value) throws(KafkaError) in try produce(key: key, value: value, tag: tag) }
            case .borrowed(let key, let value):
                try producer.produce(topicHandle, key: key, value: value, tag: tag)
            }
        } catch  where error.code == .messageSizeTooLarge {
            rejected += 1
            return error.message
        }
        return nil
    }

    private func produce(key: [UInt8]?, value: UnsafeRawBufferPointer, tag: UInt) throws(KafkaError) {
        try key.withTypedBytes { (key) throws(KafkaError) in
            try producer.produce(topicHandle, key: key, value: value, tag: tag)
        }
    }

    public var totals: Totals {
        let counts = producer.deliveryCounts
        return Totals(
            read: read, rejected: rejected, enqueued: counts.enqueued, delivered: counts.delivered,
            failed: counts.failed)
    }
}
