import CLibPQ

/// Streams rows into a running `COPY … FROM STDIN`, in the format the statement asked for (text or binary).
/// Rows are encoded into a buffer and sent in chunks of `Options.copyChunkSize` bytes. Obtain one from
/// `PostgresConnection.copyIn`.
///
/// Each row is written atomically: if a value cannot be encoded (a NUL byte in text, which PostgreSQL cannot
/// store), `writeRow` throws a `PostgresError` of kind `.invalidValue` naming the column, nothing of that row
/// is sent, and the COPY can go on with the next row.
public final class CopyRowWriter {
    /// Column names, used to name the column in value errors and to check the number of values per row.
    public let columns: [String]
    public let format: CopyFormat
    /// Rows accepted so far (buffered or sent).
    public private(set) var rowCount: Int64 = 0
    /// Bytes handed to libpq so far.
    public private(set) var bytesSent: Int64 = 0

    private let connection: PostgresConnection
    private let chunkSize: Int
    private var buffer: [UInt8] = []

    init(connection: PostgresConnection, columns: [String], format: CopyFormat, chunkSize: Int) {
        self.connection = connection
        self.columns = columns
        self.format = format
        self.chunkSize = max(chunkSize, 1024)
        buffer.reserveCapacity(self.chunkSize + 64 * 1024)
        if format == .binary {
            // Signature, flags (no OIDs), header extension length.
            buffer.append(contentsOf: Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00])
            buffer.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        }
    }

    /// Appends one row; `body` appends its values in column order.
    public func writeRow(_ body: (inout CopyRow) throws -> Void) throws {
        let start = buffer.count
        var row = CopyRow(columns: columns, format: format, appendingTo: &buffer)
        do {
            try body(&row)
            try row.finish()
        } catch {
            row.bytes.removeLast(row.bytes.count - start)
            swap(&row.bytes, &buffer)
            throw error
        }
        swap(&row.bytes, &buffer)
        rowCount += 1
        if buffer.count >= chunkSize { try flush() }
    }

    /// Appends one row from parameter-style values (`nil` is NULL).
    public func writeRow(_ values: [PostgresValue?]) throws(PostgresError) {
        do {
            try writeRow { row in
                for value in values { try row.append(value) }
            }
        } catch let error as PostgresError {
            throw error
        } catch {
            throw PostgresError(kind: .protocolViolation, message: "unexpected error \(type(of: error))")
        }
    }

    /// Appends rows already encoded in `format` (whole rows: text lines, each ending in a newline, or binary
    /// tuples).
    func writeEncoded(_ lines: UnsafeRawBufferPointer, rows: Int = 1, format: CopyFormat) throws(PostgresError) {
        guard format == self.format else {
            throw PostgresError(
                kind: .protocolViolation, message: "rows encoded for \(format) COPY sent to a \(self.format) COPY")
        }
        buffer.append(contentsOf: lines)
        rowCount += Int64(rows)
        if buffer.count >= chunkSize { try flush() }
    }

    /// Ends the data (binary: its trailer) and sends what is buffered.
    func finish() throws(PostgresError) {
        if format == .binary { buffer.append(contentsOf: [0xFF, 0xFF]) }
        try flush()
    }

    /// Sends the buffered rows to libpq.
    func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBytes { bytes in
            PQputCopyData(connection.handle, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        }
        guard status == 1 else { throw connection.connectionError() }
        bytesSent += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}
