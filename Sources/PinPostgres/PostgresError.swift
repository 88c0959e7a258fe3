/// An error from PostgreSQL or from libpq.
///
/// `description` is safe to log: it never contains the connection string, a password or row values.
/// The server's detail and hint (which may quote row values) are only in `debugDescription`.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke.
        case connection
        /// The connection string or URL is malformed; retrying cannot help.
        case configuration
        /// The server rejected a statement; see `sqlState`.
        case server
        /// A value cannot be sent to PostgreSQL (for example a NUL byte in text); see `column`.
        case invalidValue
        /// The server answered something this module did not expect.
        case protocolViolation
    }

    public var kind: Kind
    /// Five-character SQLSTATE code (for example `23505`), when the server sent one.
    public var sqlState: String?
    /// Non-localized severity (`ERROR`, `FATAL`, `PANIC`), when the server sent one.
    public var severity: String?
    /// The server's primary message, or libpq's message with secrets removed.
    public var message: String
    /// The column a value error is about (COPY row writing).
    public var column: String?
    /// Server detail and hint; may quote row values, so kept out of `description`.
    public var detail: String?
    public var hint: String?
    /// True when libpq reported the connection as broken after the failure.
    public var connectionBroken: Bool

    public init(
        kind: Kind, message: String, sqlState: String? = nil, severity: String? = nil,
        column: String? = nil, detail: String? = nil, hint: String? = nil, connectionBroken: Bool = false
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.column = column
        self.detail = detail
        self.hint = hint
        self.connectionBroken = connectionBroken
    }

    /// The connection is gone or unusable: reconnect before retrying.
    public var isConnectionError: Bool {
        if kind == .connection || connectionBroken { return true }
        guard let state = sqlState else { return false }
        // 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect now.
        return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
    }

    /// Retrying the same work later may succeed (connection loss, serialization failure, deadlock).
    public var isTransient: Bool {
        if isConnectionError { return true }
        switch sqlState {
        case "40001", "40P01", "53300": return true
        default: return false
        }
    }

    public var description: String {
        switch kind {
        case .connection:
            return "PostgreSQL connection error: \(message)"
        case .configuration:
            return "PostgreSQL configuration error: \(message)"
        case .invalidValue:
            return "PostgreSQL value error: \(message)"
        case .protocolViolation:
            return "PostgreSQL protocol error: \(message)"
        case .server:
            let code = sqlState ?? "?????"
            let level = severity ?? "ERROR"
            // Class 22 (data exception) messages quote the offending value ("invalid input syntax for type bigint: \"x\"").
            if code.hasPrefix("22") {
                return "PostgreSQL \(level) \(code): data exception (value withheld; see debugDescription)"
            }
            return "PostgreSQL \(level) \(code): \(message)"
        }
    }

    public var debugDescription: String {
        var text = description
        if kind == .server, sqlState?.hasPrefix("22") == true { text += " message: \(message)" }
        if let column { text += " column: \(column)" }
        if let detail { text += " detail: \(detail)" }
        if let hint { text += " hint: \(hint)" }
        return text
    }
}
