/// A compression or decompression failure: corrupt or truncated input, or a library error.
public struct CompressionError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
