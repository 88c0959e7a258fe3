/// One cell for `ParquetWriter.write(row:)`.
public enum ParquetValue: Sendable, Equatable {
    case null
    case int64(Int64)
    case bool(Bool)
    case string(String)
    case stringList([String])
}
