import CLibPQ

extension PostgresConnection {
    /// Runs `COPY table (columns) FROM STDIN` in `format` and streams the rows `body` writes.
    /// Returns the number of rows the server stored.
    @discardableResult
    public func copyIn(
        table: String, columns: [String], format: CopyFormat = .text, _ body: (CopyRowWriter) throws -> Void
    ) throws -> Int64 {
        let columnList = columns.map { Self.quoted(identifier: $0) }.joined(separator: ", ")
        return try copyIn(
            sql: "COPY \(Self.quoted(identifier: table)) (\(columnList)) FROM STDIN\(format.statementOption)",
            columns: columns, body)
    }

    /// Runs a `COPY … FROM STDIN` statement and streams the rows `body` writes, in the format the statement
    /// names (text unless it says `FORMAT binary`). `columns` names
    /// the columns in order for value errors and row-length checks (empty: not checked, named by position).
    /// If `body` throws, the COPY is aborted (nothing is stored) and the error is rethrown.
    /// Returns the number of rows the server stored.
    @discardableResult
    public func copyIn(sql: String, columns: [String] = [], _ body: (CopyRowWriter) throws -> Void) throws -> Int64 {
        guard let start = PQexec(handle, sql) else { throw connectionError() }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            // An error, another COPY direction, or not a COPY at all: `rows` throws or cleans up.
            _ = try rows(from: start)
            throw PostgresError(kind: .protocolViolation, message: "statement did not start COPY FROM STDIN")
        }
        // The server says which format the statement asked for.
        let format: CopyFormat = PQbinaryTuples(start) == 1 ? .binary : .text
        PQclear(start)

        let writer = CopyRowWriter(
            connection: self, columns: columns, format: format, chunkSize: options.copyChunkSize)
        do {
            try body(writer)
            try writer.finish()
        } catch {
            // Abort the COPY so the server discards what it has; its "COPY from stdin failed" error is expected.
            leaveCopyState(PGRES_COPY_IN)
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            let failure = connectionError()
            drainResults()
            throw failure
        }
        guard let end = PQgetResult(handle) else { throw connectionError() }
        defer { drainResults() }
        let rows = try self.rows(from: end)
        return rows.affectedRows ?? writer.rowCount
    }
}
