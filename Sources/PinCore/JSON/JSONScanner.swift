/// A forward-only cursor over UTF-8 JSON text that checks the grammar without building values.
///
/// It accepts exactly what `JSONParser` accepts (RFC 8259, strings valid UTF-8, paired
/// surrogates, nesting up to `JSONParser.maximumDepth`), but allocates nothing, so the hot
/// paths (is this archived value JSON? where are a record's fields?) cost one pass over the bytes.
/// It answers only yes or no: `JSONParser` is the one that explains what is wrong.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var atEnd: Bool { position >= bytes.count }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Skips one value of any kind; false when it is malformed.
    mutating func skipValue(depth: Int = 0) -> Bool {
        skipWhitespace()
        guard let byte = current else { return false }
        switch byte {
        case UInt8(ascii: "\""): return scanString() != nil
        case UInt8(ascii: "{"): return skipObject(depth: depth + 1)
        case UInt8(ascii: "["): return skipArray(depth: depth + 1)
        case UInt8(ascii: "t"): return skipLiteral("true")
        case UInt8(ascii: "f"): return skipLiteral("false")
        case UInt8(ascii: "n"): return skipLiteral("null")
        default: return scanNumber() != nil
        }
    }

    mutating func skipLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        let start = literal.utf8Start
        for index in 0..<count where bytes[position + index] != start[index] { return false }
        position += count
        return true
    }

    private mutating func skipObject(depth: Int) -> Bool {
        guard depth <= JSONParser.maximumDepth else { return false }
        position += 1
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\""), scanString() != nil, consume(UInt8(ascii: ":")),
                skipValue(depth: depth)
            else { return false }
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    private mutating func skipArray(depth: Int) -> Bool {
        guard depth <= JSONParser.maximumDepth else { return false }
        position += 1
        if consume(UInt8(ascii: "]")) { return true }
        while true {
            guard skipValue(depth: depth) else { return false }
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "]"))
        }
    }

    /// A number token: where it is, and whether it is a plain integer (no fraction or exponent).
    struct NumberToken {
        var range: Range<Int>
        var isInteger: Bool
    }

    mutating func scanNumber() -> NumberToken? {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, Self.isDigit(first) else { return nil }
        position += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() > 0 else { return nil }
            isInteger = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() > 0 else { return nil }
            isInteger = false
        }
        return NumberToken(range: start..<position, isInteger: isInteger)
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = position
        while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
        return position - start
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// A string token: the bytes between the quotes, and whether they hold escapes.
    struct StringToken {
        var range: Range<Int>
        var hasEscapes: Bool
    }

    /// Scans a string whose opening quote is at `position`; nil when it is malformed.
    mutating func scanString() -> StringToken? {
        position += 1
        let start = position
        var hasEscapes = false
        let count = bytes.count
        let base = bytes.baseAddress!
        while true {
            // Eight plain ASCII bytes at a time (no quote, backslash, control character or high
            // bit), then straight to the first byte that is not one.
            while position + 8 <= count {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
                let mask = Self.attentionMask(word)
                if mask == 0 {
                    position += 8
                    continue
                }
                position += mask.trailingZeroBitCount >> 3
                break
            }
            guard position < count else { return nil }
            let byte = base[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return StringToken(range: start..<(position - 1), hasEscapes: hasEscapes)
            case UInt8(ascii: "\\"):
                hasEscapes = true
                position += 1
                guard skipEscape() else { return nil }
            case 0..<0x20:
                return nil
            case 0x20..<0x80:
                position += 1
            default:
                guard skipMultibyte() else { return nil }
            }
        }
    }

    /// A high bit set in each byte of `word` that is a quote, a backslash, below 0x20 or at least
    /// 0x80; the lowest one marks the first such byte exactly (a borrow only makes false alarms
    /// above a true one).
    @inline(__always)
    private static func attentionMask(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func zeroBytes(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
        let controlOrHigh = ((word &- ones &* 0x20) | word) & highs
        return controlOrHigh | zeroBytes(word ^ (ones &* 0x22)) | zeroBytes(word ^ (ones &* 0x5C))
    }

    private mutating func skipEscape() -> Bool {
        guard let byte = current else { return false }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return true
        case UInt8(ascii: "u"):
            guard let unit = hex4() else { return false }
            if (0xD800..<0xDC00).contains(unit) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else { return false }
                position += 2
                guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return false }
                return true
            }
            return !(0xDC00..<0xE000).contains(unit)
        default:
            return false
        }
    }

    private mutating func hex4() -> UInt32? {
        guard position + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// The text of a string token that `scanString` accepted, escapes resolved, appended to `out`.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var index = 0
        func hex4(at start: Int) -> UInt32 {
            var value: UInt32 = 0
            for byte in raw[start..<(start + 4)] {
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                default: digit = UInt32(byte - UInt8(ascii: "A") + 10)
                }
                value = value << 4 | digit
            }
            return value
        }
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex4(at: index + 2) - 0xDC00)
                    index += 6
                }
                appendUTF8(scalar, to: &out)
            default: out.append(escape)
            }
        }
    }

    private static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// One well-formed UTF-8 sequence of two to four bytes (no overlongs, surrogates or values past U+10FFFF).
    private mutating func skipMultibyte() -> Bool {
        let lead = bytes[position]
        let length: Int
        var lowest: UInt8 = 0x80
        var highest: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowest = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; highest = 0x9F
        case 0xF0: length = 4; lowest = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; highest = 0x8F
        default: return false
        }
        guard position + length <= bytes.count else { return false }
        let second = bytes[position + 1]
        guard second >= lowest, second <= highest else { return false }
        for offset in 2..<max(2, length) where bytes[position + offset] & 0xC0 != 0x80 { return false }
        position += length
        return true
    }
}

/// Whether bytes are one well-formed JSON text, without building it.
public enum JSONValidator {
    public static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.baseAddress != nil else { return false }
        var scanner = JSONScanner(bytes)
        guard scanner.skipValue() else { return false }
        scanner.skipWhitespace()
        return scanner.atEnd
    }

    public static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { isValid($0) }
    }
}
