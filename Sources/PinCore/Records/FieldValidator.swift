/// Checks the fields of one raw pin object, collecting an error per bad field
/// so a client learns about all of them at once.
struct FieldValidator {
    let object: JSONObject
    private(set) var errors: [FieldError] = []

    init(object: JSONObject) {
        self.object = object
    }

    private mutating func fail(_ field: String, _ type: String, _ message: String) {
        errors.append(FieldError(location: [field], type: type, message: message))
    }

    mutating func index() -> Int64? {
        let field = "index"
        switch object[field] {
        case nil:
            fail(field, "missing", "Field required")
        case .number(let text):
            return nonNegativeInteger(field, JSONInteger(text))
        case .string(let text):
            guard !text.isEmpty, text.utf8.allSatisfy(Self.isDigit) else {
                fail(field, "int_parsing", "Input should be a valid integer, unable to parse string as an integer")
                return nil
            }
            return nonNegativeInteger(field, JSONInteger(text))
        default:
            fail(field, "int_type", "Input should be a valid integer")
        }
        return nil
    }

    private mutating func nonNegativeInteger(_ field: String, _ number: JSONInteger) -> Int64? {
        switch number {
        case .value(let value) where value >= 0:
            return value
        case .value, .outOfRange(negative: true):
            fail(field, "greater_than_equal", "Input should be greater than or equal to 0")
        case .outOfRange(negative: false):
            fail(field, "int_parsing_size", "Unable to parse input as an integer, exceeded maximum size")
        case .fractional:
            fail(field, "int_from_float", "Input should be a valid integer, got a number with a fractional part")
        }
        return nil
    }

    mutating func uniqueID() -> String? {
        let field = "unique_id"
        switch object[field] {
        case nil:
            fail(field, "missing", "Field required")
        case .string(let text):
            guard Self.isUUID(text) else {
                fail(field, "uuid_parsing", "Input should be a valid UUID in the 8-4-4-4-12 hexadecimal form")
                return nil
            }
            return text
        default:
            fail(field, "string_type", "Input should be a valid string")
        }
        return nil
    }

    mutating func category() -> String? {
        let field = "category"
        switch object[field] {
        case nil:
            fail(field, "missing", "Field required")
        case .string(let text):
            guard !text.isEmpty else {
                fail(field, "string_too_short", "String should have at least 1 character")
                return nil
            }
            return text
        default:
            fail(field, "string_type", "Input should be a valid string")
        }
        return nil
    }

    mutating func optionalString(_ field: String) -> String? {
        switch object[field] {
        case nil, .null: return nil
        case .string(let text): return text
        default:
            fail(field, "string_type", "Input should be a valid string")
            return nil
        }
    }

    mutating func followerCount() -> RawPin.FollowerCount? {
        let field = "follower_count"
        switch object[field] {
        case nil, .null: return nil
        case .string(let text): return .text(text)
        case .number(let text):
            switch JSONInteger(text) {
            case .value(let value):
                return .number(value)
            case .outOfRange:
                fail(field, "int_parsing_size", "Unable to parse input as an integer, exceeded maximum size")
            case .fractional:
                fail(field, "int_from_float", "Input should be a valid integer, got a number with a fractional part")
            }
            return nil
        default:
            fail(field, "string_type", "Input should be a valid string or integer")
            return nil
        }
    }

    mutating func downloaded() -> RawPin.Downloaded? {
        let field = "downloaded"
        switch object[field] {
        case nil, .null: return nil
        case .bool(let flag): return .boolean(flag)
        case .number(let text) where JSONInteger(text) == .value(0): return .integer(false)
        case .number(let text) where JSONInteger(text) == .value(1): return .integer(true)
        case .string("0"): return .integer(false)
        case .string("1"): return .integer(true)
        case .string("true"): return .boolean(true)
        case .string("false"): return .boolean(false)
        case .number, .string:
            fail(field, "bool_parsing", "Input should be a valid boolean, unable to interpret input")
        default:
            fail(field, "bool_type", "Input should be a valid boolean")
        }
        return nil
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// The canonical 8-4-4-4-12 hexadecimal form, either case.
    static func isUUID(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isUUID($0) }
    }

    static func isUUID(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard utf8.count == 36 else { return false }
        let dash = UInt8(ascii: "-")
        guard utf8[8] == dash, utf8[13] == dash, utf8[18] == dash, utf8[23] == dash else { return false }
        // Without a branch per byte: hex digits are random, so branches would mispredict half the time.
        var valid: UInt8 = 1
        for position in 0..<36 where position != 8 && position != 13 && position != 18 && position != 23 {
            let byte = utf8[position]
            // A digit, or a letter a-f in either case (0x20 is the case bit).
            let digit: UInt8 = byte &- UInt8(ascii: "0") < 10 ? 1 : 0
            let letter: UInt8 = (byte | 0x20) &- UInt8(ascii: "a") < 6 ? 1 : 0
            valid &= digit | letter
        }
        return valid == 1
    }
}

/// The integer a JSON number stands for. JSON numbers are values, so `1.0`, `1e2` and `-0` are
/// the integers 1, 100 and 0, as JSON Schema and FastAPI read them; `1.5` is not an integer.
/// Worked out exactly on the digits, never through a Double.
enum JSONInteger: Equatable {
    case value(Int64)
    case fractional
    case outOfRange(negative: Bool)

    /// - Parameter text: a number as the JSON grammar allows it (or a string of digits).
    init(_ text: String) {
        let bytes = Array(text.utf8)
        var position = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { position += 1 }
        var digits: [UInt8] = []
        while position < bytes.count, FieldValidator.isDigit(bytes[position]) {
            digits.append(bytes[position])
            position += 1
        }
        var fractionDigits = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            while position < bytes.count, FieldValidator.isDigit(bytes[position]) {
                digits.append(bytes[position])
                fractionDigits += 1
                position += 1
            }
        }
        var exponent = 0
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            var exponentNegative = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
                exponentNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            while position < bytes.count, FieldValidator.isDigit(bytes[position]) {
                exponent = min(exponent * 10 + Int(bytes[position] - UInt8(ascii: "0")), 1_000_000)
                position += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        guard let first = digits.firstIndex(where: { $0 != UInt8(ascii: "0") }) else {
            self = .value(0)  // 0, -0, 0.0, 0e7
            return
        }
        var significant = Array(digits[first...])
        let scale = exponent - fractionDigits
        if scale < 0 {
            // The last -scale digits lie after the point: an integer only if they are all zero.
            guard -scale < significant.count, significant.suffix(-scale).allSatisfy({ $0 == UInt8(ascii: "0") })
            else {
                self = .fractional
                return
            }
            significant.removeLast(-scale)
        } else {
            guard significant.count + scale <= 19 else {
                self = .outOfRange(negative: negative)
                return
            }
            significant += repeatElement(UInt8(ascii: "0"), count: scale)
        }
        guard significant.count <= 19, let magnitude = UInt64(String(decoding: significant, as: UTF8.self)),
            magnitude <= (negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max))
        else {
            self = .outOfRange(negative: negative)
            return
        }
        self = .value(negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude))
    }
}
