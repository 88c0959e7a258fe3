import CRdKafka

/// An error from librdkafka or from this module's use of it.
///
/// `code` is librdkafka's `rd_kafka_resp_err_t` value (negative codes are client-side, positive
/// ones come from the broker). `message` never contains configuration values, so it is safe to log.
public struct KafkaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    public var message: String
    /// The client cannot continue (e.g. an idempotence guarantee was lost); recreate it.
    public var isFatal: Bool

    public init(code: Code, message: String, isFatal: Bool = false) {
        self.code = code
        self.message = message
        self.isFatal = isFatal
    }

    public var description: String { "\(message) [\(code.name)]" }

    /// A librdkafka error code, with names for the ones callers act on.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// librdkafka's symbolic name, e.g. `_MSG_TIMED_OUT` or `MSG_SIZE_TOO_LARGE`.
        public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue))) }

        public static let noError = Code(rawValue: 0)
        public static let queueFull = Code(rawValue: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue)
        public static let messageTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)
        public static let timedOut = Code(rawValue: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
        public static let messageSizeTooLarge = Code(rawValue: RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue)
        public static let allBrokersDown = Code(rawValue: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue)
        public static let transport = Code(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
        public static let resolve = Code(rawValue: RD_KAFKA_RESP_ERR__RESOLVE.rawValue)
        public static let ssl = Code(rawValue: RD_KAFKA_RESP_ERR__SSL.rawValue)
        public static let authentication = Code(rawValue: RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue)
        public static let saslAuthenticationFailed = Code(
            rawValue: RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue)
        public static let invalidArgument = Code(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        public static let unknownTopicOrPartition = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue)
        public static let topicAlreadyExists = Code(rawValue: RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.rawValue)
        public static let partitionEOF = Code(rawValue: RD_KAFKA_RESP_ERR__PARTITION_EOF.rawValue)
        public static let destroyed = Code(rawValue: RD_KAFKA_RESP_ERR__DESTROY.rawValue)
        public static let fatal = Code(rawValue: RD_KAFKA_RESP_ERR__FATAL.rawValue)
        public static let illegalGeneration = Code(rawValue: RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION.rawValue)
        public static let rebalanceInProgress = Code(rawValue: RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue)
        public static let unknownMemberID = Code(rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID.rawValue)
    }
}

extension KafkaError {
    /// The group coordinator refused a request because the group is rebalancing or moved on to a
    /// new generation without this member (a commit sent just as another member joined or left).
    public var isGroupMembershipChange: Bool {
        [.illegalGeneration, .rebalanceInProgress, .unknownMemberID].contains(code)
    }

    /// Errors that retrying will not fix: wrong credentials, TLS or SASL settings.
    var isCredentialsProblem: Bool {
        [.authentication, .saslAuthenticationFailed, .ssl].contains(code)
            || message.contains("SASL") || message.contains("SSL handshake")
    }

    init(_ err: rd_kafka_resp_err_t, _ context: String? = nil) {
        let reason = String(cString: rd_kafka_err2str(err))
        self.init(code: Code(rawValue: err.rawValue), message: context.map { "\($0): \(reason)" } ?? reason)
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, _ context: String? = nil) {
        let reason = String(cString: rd_kafka_error_string(error))
        self.init(
            code: Code(rawValue: rd_kafka_error_code(error).rawValue),
            message: context.map { "\($0): \(reason)" } ?? reason,
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
        rd_kafka_error_destroy(error)
    }

    static func check(_ err: rd_kafka_resp_err_t, _ context: @autoclosure () -> String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context()) }
    }
}
