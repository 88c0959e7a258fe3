/// A query parameter, sent to PostgreSQL in text format. `nil` (as `PostgresValue?`) is SQL NULL.
public enum PostgresValue: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// A `text[]` value; `nil` items are NULL elements.
    case textArray([String?])
    case bytea([UInt8])

    /// The text-format representation PostgreSQL parses for this value.
    var textRepresentation: [UInt8] {
        switch self {
        case .text(let value): return Array(value.utf8)
        case .int(let value): return Array(String(value).utf8)
        case .double(let value): return Array(String(value).utf8)
        case .bool(let value): return value ? [UInt8(ascii: "t")] : [UInt8(ascii: "f")]
        case .textArray(let items):
            var out: [UInt8] = []
            PostgresArrayLiteral.append(items, to: &out)
            return out
        case .bytea(let bytes):
            var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
            PostgresArrayLiteral.appendHex(bytes, to: &out)
            return out
        }
    }
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
