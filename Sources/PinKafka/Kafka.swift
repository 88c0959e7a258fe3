import CRdKafka

/// The librdkafka version this module is linked against.
public var librdkafkaVersion: String { String(cString: rd_kafka_version_str()) }
