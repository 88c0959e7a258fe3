/// When a partition's buffered run becomes an object.
public struct FlushPolicy: Sendable {
    public var maxRecords: Int
    public var maxBytes: Int
    public var maxAge: Duration
    /// Across all partitions; above it the largest buffer is flushed first.
    public var maxBufferBytes: Int

    public init(
        maxRecords: Int = 10_000, maxBytes: Int = 16 << 20, maxAge: Duration = .seconds(60),
        maxBufferBytes: Int = 64 << 20
    ) {
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
        self.maxAge = maxAge
        self.maxBufferBytes = maxBufferBytes
    }
}
