/// A Parquet writing failure: a value that does not fit the schema, a misuse of the writer, or an I/O error.
public struct ParquetError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
