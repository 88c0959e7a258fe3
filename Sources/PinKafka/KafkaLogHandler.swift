/// Receives librdkafka's log lines: level, facility (e.g. `FAIL`, `REQTMOUT`) and message.
/// Called on librdkafka's internal threads. Without one, librdkafka prints to stderr itself.
public typealias KafkaLogHandler = @Sendable (_ level: KafkaLogLevel, _ facility: String, _ message: String) -> Void

/// librdkafka's syslog-style log levels, folded to four.
public enum KafkaLogLevel: Sendable, Comparable {
    case debug, info, warning, error

    init(syslog level: Int32) {
        switch level {
        case ...3: self = .error
        case 4: self = .warning
        case 5, 6: self = .info
        default: self = .debug
        }
    }
}
