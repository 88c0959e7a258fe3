#if canImport(Glibc)
    import Glibc
#endif

/// Reads one top-level string member of a JSON object in a single pass, without building a
/// tree: how `pin-produce --raw` finds a message key at full speed.
public enum JSONFieldScanner {
    /// The decoded value of the top-level string member `name`, or nil when the text is not one
    /// well-formed JSON object, or the member is missing or not a string. Duplicate names: last wins.
    public static func stringValue(of name: String, in text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let value = locateStringValue(of: name, in: text) else { return nil }
        let raw = text[value.range]
        return value.hasEscapes ? decode(raw) : Array(raw)
    }

    /// Where a string member's value lies in the text: the bytes between its quotes, and
    /// whether they hold escapes (when they do not, they are the value itself).
    public struct Location: Sendable, Equatable {
        public var range: Range<Int>
        public var hasEscapes: Bool
    }

    /// Like ``stringValue(of:in:)``, without copying: where the value is, for a caller that
    /// can use the bytes in place.
    public static func locateStringValue(of name: String, in text: UnsafeBufferPointer<UInt8>) -> Location? {
        guard text.baseAddress != nil else { return nil }
        var scanner = Scanner(bytes: text)
        var name = name
        return name.withUTF8 { scanner.objectMember(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
    }

    public static func stringValue(of name: String, in text: [UInt8]) -> [UInt8]? {
        text.withUnsafeBufferPointer { stringValue(of: name, in: $0) }
    }

    /// Reads through raw pointers: every read is checked against `count` by hand, and a read
    /// past the end yields 0, a byte that ends every token (JSON allows no NUL outside strings
    /// and no raw one inside).
    private struct Scanner {
        let base: UnsafePointer<UInt8>
        let count: Int
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            base = bytes.baseAddress!
            count = bytes.count
        }

        @inline(__always) var current: UInt8 { position < count ? base[position] : 0 }

        @inline(__always) mutating func skipWhitespace() {
            while position < count {
                let byte = base[position]
                guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
                position += 1
            }
        }

        @inline(__always) mutating func consume(_ byte: UInt8) -> Bool {
            guard current == byte else { return false }
            position += 1
            return true
        }

        /// The whole text must be one object; returns where the wanted member's value is.
        mutating func objectMember(_ name: UnsafeBufferPointer<UInt8>) -> Location? {
            skipWhitespace()
            guard consume(UInt8(ascii: "{")) else { return nil }
            var found: Location?
            skipWhitespace()
            if !consume(UInt8(ascii: "}")) {
                while true {
                    skipWhitespace()
                    guard let key = string() else { return nil }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return nil }
                    skipWhitespace()
                    if current == UInt8(ascii: "\""), equal(key, name) {
                        guard let value = string() else { return nil }
                        found = value
                    } else {
                        guard skipValue(depth: 1) else { return nil }
                    }
                    skipWhitespace()
                    if consume(UInt8(ascii: ",")) { continue }
                    guard consume(UInt8(ascii: "}")) else { return nil }
                    break
                }
            }
            skipWhitespace()
            return position == count ? found : nil
        }

        /// A string token: where its bytes between the quotes are (escapes not decoded).
        mutating func string() -> Location? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = position
            var next = position  // a local copy: the loop stays in registers
            var hasEscapes = false
            defer { position = next }
            while true {
                // Sixteen bytes at a time, straight to the first quote, backslash or control character.
                while next + 16 <= count {
                    let low = JSONText.escapeMask(
                        UInt64(littleEndian: UnsafeRawPointer(base + next).loadUnaligned(as: UInt64.self)))
                    let high = JSONText.escapeMask(
                        UInt64(littleEndian: UnsafeRawPointer(base + next + 8).loadUnaligned(as: UInt64.self)))
                    if low | high == 0 {
                        next += 16
                        continue
                    }
                    next += low != 0 ? low.trailingZeroBitCount >> 3 : 8 + high.trailingZeroBitCount >> 3
                    break
                }
                guard next < count else { return nil }
                switch base[next] {
                case UInt8(ascii: "\""):
                    next += 1
                    return Location(range: start..<next - 1, hasEscapes: hasEscapes)
                case UInt8(ascii: "\\"):
                    hasEscapes = true
                    next += 1
                    guard next < count else { return nil }
                    let escaped = base[next]
                    next += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        break
                    case UInt8(ascii: "u"):
                        for _ in 0..<4 {
                            guard next < count, hexValue(base[next]) != nil else { return nil }
                            next += 1
                        }
                    default:
                        return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    next += 1
                }
            }
        }

        mutating func skipValue(depth: Int) -> Bool {
            guard depth < 512 else { return false }
            switch current {
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "{"):
                position += 1
                skipWhitespace()
                if consume(UInt8(ascii: "}")) { return true }
                while true {
                    skipWhitespace()
                    guard string() != nil else { return false }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    skipWhitespace()
                    guard skipValue(depth: depth + 1) else { return false }
                    skipWhitespace()
                    if consume(UInt8(ascii: ",")) { continue }
                    return consume(UInt8(ascii: "}"))
                }
            case UInt8(ascii: "["):
                position += 1
                skipWhitespace()
                if consume(UInt8(ascii: "]")) { return true }
                while true {
                    skipWhitespace()
                    guard skipValue(depth: depth + 1) else { return false }
                    skipWhitespace()
                    if consume(UInt8(ascii: ",")) { continue }
                    return consume(UInt8(ascii: "]"))
                }
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let length = word.utf8CodeUnitCount
            guard count - position >= length, memcmp(base + position, word.utf8Start, length) == 0 else { return false }
            position += length
            return true
        }

        mutating func number() -> Bool {
            _ = consume(UInt8(ascii: "-"))
            if consume(UInt8(ascii: "0")) {
            } else if digits() == 0 {
                return false
            }
            if consume(UInt8(ascii: ".")), digits() == 0 { return false }
            if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                if digits() == 0 { return false }
            }
            return true
        }

        mutating func digits() -> Int {
            let start = position
            while position < count, base[position] &- UInt8(ascii: "0") < 10 { position += 1 }
            return position - start
        }

        func equal(_ key: Location, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
            let bytes = UnsafeBufferPointer(start: base, count: count)
            if key.hasEscapes { return decode(bytes[key.range]).elementsEqual(name) }
            return key.range.count == name.count
                && (name.isEmpty || memcmp(base + key.range.lowerBound, name.baseAddress!, name.count) == 0)
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Decodes the escapes of an already validated string body to UTF-8.
    private static func decode(_ raw: Slice<UnsafeBufferPointer<UInt8>>) -> [UInt8] {
        guard raw.contains(UInt8(ascii: "\\")) else { return Array(raw) }
        var result: [UInt8] = []
        result.reserveCapacity(raw.count)
        var index = raw.startIndex
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | (hexValue(raw.base[at + $1]) ?? 0) }
        }
        while index < raw.endIndex {
            let byte = raw.base[index]
            guard byte == UInt8(ascii: "\\") else {
                result.append(byte)
                index += 1
                continue
            }
            let escaped = raw.base[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "f"): result.append(0x0C)
            case UInt8(ascii: "n"): result.append(0x0A)
            case UInt8(ascii: "r"): result.append(0x0D)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(index)
                index += 4
                // A high surrogate followed by an escaped low one makes one scalar.
                if scalar >= 0xD800, scalar < 0xDC00, index + 6 <= raw.endIndex,
                    raw.base[index] == UInt8(ascii: "\\"), raw.base[index + 1] == UInt8(ascii: "u")
                {
                    let low = hex4(index + 2)
                    if low >= 0xDC00, low < 0xE000 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                }
                result += Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
            default: result.append(escaped)
            }
        }
        return result
    }
}
