/// What one run archived.
public struct ArchiveStatistics: Sendable, Equatable {
    public var records = 0
    public var objects = 0
    public var bytes = 0
    /// Values that are not valid UTF-8 JSON (archived all the same).
    public var invalidValues = 0
    /// Values that contained newline bytes (archived with each newline turned into a space).
    public var valuesWithNewlines = 0
    /// Messages left behind the high watermarks of the assigned partitions at the end, when known.
    public var lag: Int64?

    public init() {}
}
