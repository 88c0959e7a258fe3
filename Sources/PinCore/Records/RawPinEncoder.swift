/// Validates lines as raw pins and encodes each as the record published to Kafka: exactly the
/// bytes of `RawPin(parsing: line).jsonBytes()`, keyed by its `unique_id`, in one buffer that is
/// reused from line to line.
///
/// A well-formed record is copied field by field from its own bytes (no `String`, no allocation);
/// anything the fast reader declines (a bad field, an escaped key, an odd number) goes through
/// `RawPin(parsing:)`, which either accepts it or says why not. So the bytes and the reasons are
/// the ones the `RawPin` path gives, for any input.
public struct RawPinEncoder {
    /// The last encoded record; `Encoded`'s ranges point into it until the next `encode(_:)`.
    public private(set) var buffer: [UInt8] = []

    /// Where the key and the value of an encoded record are in `buffer`.
    public struct Encoded: Sendable, Equatable {
        public var key: Range<Int>
        public var value: Range<Int>
    }

    public init() {}

    /// Validates `line` and encodes it; throws what `RawPin(parsing:)` throws.
    public mutating func encode(_ line: UnsafeBufferPointer<UInt8>) throws(RecordError) -> Encoded {
        if let fields = RawPin.fields(in: line) {
            // What the fast path writes is never longer than the line, plus the member names and
            // nulls of every field (see `write`).
            let capacity = line.count + Self.fixedBytes
            if buffer.count < capacity { buffer = [UInt8](repeating: 0, count: max(capacity, 2 * buffer.count)) }
            return buffer.withUnsafeMutableBufferPointer { Self.write(fields, of: line, into: $0) }
        }
        let pin = try RawPin(parsing: line)
        buffer = Array(pin.uniqueID.utf8)
        let keyCount = buffer.count
        buffer += pin.jsonBytes()
        return Encoded(key: 0..<keyCount, value: keyCount..<buffer.count)
    }

    /// Room for the member names, separators and `null`s, whatever the line holds.
    static let fixedBytes = 512

    /// Writes the compact JSON of `fields` into `out`, as `JSONObjectWriter` writes a `RawPin`.
    ///
    /// Each value is at most as long as the text it came from: a string without escapes is copied
    /// as is (it holds no byte that needs one), an escaped one is resolved and quoted again (no
    /// longer than its escapes), numbers lose leading zeros and quotes, `"true"` its quotes.
    private static func write(
        _ fields: RawPin.Fields, of line: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Encoded {
        var writer = Writer(out: out, line: line)
        writer.append("{\"index\":")
        writer.append(integer: fields.index)
        writer.append(",\"unique_id\":\"")
        let keyStart = writer.count
        writer.append(UnsafeBufferPointer(rebasing: line[fields.uniqueID]))
        let key = keyStart..<writer.count
        writer.append("\"")
        writer.append(",\"title\":", fields.title)
        writer.append(",\"description\":", fields.description)
        writer.append(",\"poster_name\":", fields.posterName)
        writer.append(",\"follower_count\":")
        switch fields.followerCount {
        case .text(let text): writer.append(text)
        case .number(let number): writer.append(integer: number)
        case nil: writer.append("null")
        }
        writer.append(",\"tag_list\":", fields.tagList)
        writer.append(",\"is_image_or_video\":", fields.isImageOrVideo)
        writer.append(",\"image_src\":", fields.imageSrc)
        writer.append(",\"downloaded\":")
        switch fields.downloaded {
        case .integer(let flag): writer.append(flag ? "1" : "0")
        case .boolean(let flag): writer.append(flag ? "true" : "false")
        case nil: writer.append("null")
        }
        writer.append(",\"save_location\":", fields.saveLocation)
        writer.append(",\"category\":", fields.category)
        writer.append("}")
        return Encoded(key: key, value: 0..<writer.count)
    }

    /// Appends to a buffer known to be large enough; a write past its end stops the program.
    private struct Writer {
        let out: UnsafeMutableBufferPointer<UInt8>
        let line: UnsafeBufferPointer<UInt8>
        var count = 0

        @inline(__always)
        mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            precondition(bytes.count <= out.count - count, "RawPinEncoder: buffer too small")
            guard let source = bytes.baseAddress else { return }
            (out.baseAddress! + count).update(from: source, count: bytes.count)
            count += bytes.count
        }

        @inline(__always)
        mutating func append(_ text: StaticString) {
            append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        /// A member whose value is a string or null.
        @inline(__always)
        mutating func append(_ name: StaticString, _ text: RawPin.Fields.Text?) {
            append(name)
            guard let text else { return append("null") }
            append(text)
        }

        /// A string value, quoted.
        mutating func append(_ text: RawPin.Fields.Text) {
            let raw = UnsafeBufferPointer(rebasing: line[text.range])
            guard text.hasEscapes else {
                append("\"")
                append(raw)
                return append("\"")
            }
            // Resolved, then escaped as `JSONText` escapes a `String` holding the same text.
            var resolved: [UInt8] = []
            JSONScanner.unescape(raw, into: &resolved)
            var quoted: [UInt8] = []
            resolved.withUnsafeBufferPointer { JSONText.appendQuoted($0, to: &quoted) }
            quoted.withUnsafeBufferPointer { append($0) }
        }

        /// Decimal digits, as `String(value)` writes them.
        mutating func append(integer value: Int64) {
            var magnitude = value.magnitude
            var digits = 1
            var rest = magnitude / 10
            while rest > 0 {
                digits += 1
                rest /= 10
            }
            let length = digits + (value < 0 ? 1 : 0)
            precondition(length <= out.count - count, "RawPinEncoder: buffer too small")
            if value < 0 { out[count] = UInt8(ascii: "-") }
            var position = count + length
            repeat {
                position -= 1
                out[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            count += length
        }
    }
}
