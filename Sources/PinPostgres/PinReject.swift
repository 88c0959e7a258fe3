/// A consumed record that could not become a row: kept in the dead-letter table `<table>_rejected`.
public struct PinReject: Sendable, Equatable {
    public var partition: Int32
    public var offset: Int64
    /// The Kafka value exactly as consumed (any bytes).
    public var rawValue: [UInt8]
    /// Why it was rejected, for people reading the table.
    public var reason: String

    public init(partition: Int32, offset: Int64, rawValue: [UInt8], reason: String) {
        self.partition = partition
        self.offset = offset
        self.rawValue = rawValue
        self.reason = reason
    }
}
