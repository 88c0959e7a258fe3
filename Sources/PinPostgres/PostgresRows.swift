/// The rows a statement returned, with values in PostgreSQL's text format.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// Column names in result order.
    public let columns: [String]
    /// The command tag, e.g. `INSERT 0 3`.
    public let commandTag: String
    /// Rows affected by INSERT/UPDATE/DELETE/COPY (or returned by SELECT), when the server reports it.
    public let affectedRows: Int64?
    let values: [[String?]]

    init(columns: [String], values: [[String?]], commandTag: String, affectedRows: Int64?) {
        self.columns = columns
        self.values = values
        self.commandTag = commandTag
        self.affectedRows = affectedRows
    }

    public var startIndex: Int { values.startIndex }
    public var endIndex: Int { values.endIndex }
    public subscript(position: Int) -> PostgresRow {
        PostgresRow(columns: columns, values: values[position])
    }

    /// The first row, or nil for an empty result.
    public var single: PostgresRow? { isEmpty ? nil : self[0] }
}

/// One result row. Getters take a column name or index and throw if the column is missing or the value
/// does not parse as the requested type; NULL gives nil.
public struct PostgresRow: Sendable {
    public let columns: [String]
    /// Text-format values, nil for NULL.
    public let values: [String?]

    public subscript(column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else { return nil }
        return values[index]
    }

    public func string(_ column: String) throws(PostgresError) -> String? {
        try raw(column)
    }

    public func int64(_ column: String) throws(PostgresError) -> Int64? {
        guard let text = try raw(column) else { return nil }
        guard let value = Int64(text) else { throw typeError(column, "bigint") }
        return value
    }

    public func bool(_ column: String) throws(PostgresError) -> Bool? {
        switch try raw(column) {
        case nil: return nil
        case "t": return true
        case "f": return false
        default: throw typeError(column, "boolean")
        }
    }

    /// A one-dimensional `text[]`; NULL elements are not allowed here (see `optionalStringArray`).
    public func stringArray(_ column: String) throws(PostgresError) -> [String]? {
        guard let items = try optionalStringArray(column) else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let item else { throw typeError(column, "text[] without NULL elements") }
            out.append(item)
        }
        return out
    }

    public func optionalStringArray(_ column: String) throws(PostgresError) -> [String?]? {
        guard let text = try raw(column) else { return nil }
        guard let items = PostgresArrayLiteral.parse(text) else { throw typeError(column, "one-dimensional array") }
        return items
    }

    func raw(_ column: String) throws(PostgresError) -> String? {
        guard let index = columns.firstIndex(of: column) else {
            throw PostgresError(kind: .protocolViolation, message: "result has no column \"\(column)\"", column: column)
        }
        return values[index]
    }

    private func typeError(_ column: String, _ type: String) -> PostgresError {
        PostgresError(kind: .protocolViolation, message: "column \"\(column)\" is not a \(type)", column: column)
    }
}
