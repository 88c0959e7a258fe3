/// One field that failed validation, shaped like a FastAPI/pydantic error entry.
public struct FieldError: Sendable, Equatable {
    /// The path to the field, e.g. `["index"]`; empty for the record as a whole.
    public var location: [String]
    /// A machine-readable kind, as pydantic names it (`missing`, `string_type`, `int_parsing`, …).
    public var type: String
    public var message: String

    public init(location: [String], type: String, message: String) {
        self.location = location
        self.type = type
        self.message = message
    }
}

/// Why a line or body is not a valid raw pin: malformed JSON, or the fields that failed.
public struct RecordError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The text is not JSON (or not UTF-8); HTTP 400.
        case malformed
        /// JSON, but fields are missing or of the wrong type; HTTP 422.
        case invalid
    }

    public var kind: Kind
    public var fields: [FieldError]

    public init(kind: Kind, fields: [FieldError]) {
        self.kind = kind
        self.fields = fields
    }

    public static func malformed(_ message: String) -> RecordError {
        RecordError(kind: .malformed, fields: [FieldError(location: [], type: "json_invalid", message: message)])
    }

    public var description: String {
        fields.map { field in
            field.location.isEmpty ? field.message : "\(field.location.joined(separator: ".")): \(field.message)"
        }.joined(separator: "; ")
    }
}
