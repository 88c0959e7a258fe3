/// One top-level column of a Parquet file.
public struct ParquetColumn: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// INT64.
        case int64
        /// BOOLEAN.
        case boolean
        /// BYTE_ARRAY annotated STRING (converted type UTF8).
        case string
        /// The standard three-level LIST of optional strings:
        /// `group name (LIST) { repeated group list { optional binary element (STRING); } }`.
        case stringList
    }

    public var name: String
    public var kind: Kind
    public var optional: Bool

    public init(_ name: String, _ kind: Kind, optional: Bool = true) {
        self.name = name
        self.kind = kind
        self.optional = optional
    }

    /// Largest definition level of the leaf.
    var maxDefinitionLevel: Int {
        let own = optional ? 1 : 0
        return kind == .stringList ? own + 2 : own
    }

    /// Largest repetition level of the leaf.
    var maxRepetitionLevel: Int { kind == .stringList ? 1 : 0 }

    /// Path of the leaf from the root.
    var leafPath: [String] { kind == .stringList ? [name, "list", "element"] : [name] }
}

/// The columns of a file, in order. Every column is one leaf except lists (one leaf below two groups).
public struct ParquetSchema: Sendable, Equatable {
    public var columns: [ParquetColumn]

    public init(columns: [ParquetColumn]) {
        self.columns = columns
    }

    /// The clean pin schema (SPEC 1.2), in its column order.
    public static let cleanPins = ParquetSchema(columns: [
        ParquetColumn("ind", .int64, optional: false),
        ParquetColumn("unique_id", .string, optional: false),
        ParquetColumn("title", .string),
        ParquetColumn("description", .string),
        ParquetColumn("follower_count", .int64),
        ParquetColumn("poster_name", .string),
        ParquetColumn("tag_list", .stringList),
        ParquetColumn("is_image_or_video", .string),
        ParquetColumn("image_src", .string),
        ParquetColumn("save_location", .string),
        ParquetColumn("category", .string, optional: false),
        ParquetColumn("downloaded", .boolean),
    ])
}
