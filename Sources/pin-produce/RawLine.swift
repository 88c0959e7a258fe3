import PinCore
import PinKafka

/// `--raw`: what is sent for a line.
enum RawLine {
    /// The line unchanged, keyed by its `unique_id` when the line is a JSON object with a string
    /// `unique_id` (in place when it holds no escapes), else without a key. Nothing is validated.
    static func message(_ line: UnsafeBufferPointer<UInt8>) -> LinePublisher.Message {
        guard let key = JSONFieldScanner.locateStringValue(of: "unique_id", in: line) else { return .line(key: nil) }
        if key.hasEscapes { return .line(key: JSONFieldScanner.stringValue(of: "unique_id", in: line)) }
        return .lineKeyedBySlice(keyRange: key.range)
    }
}
