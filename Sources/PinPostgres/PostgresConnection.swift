import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The libpq version this module is linked against (e.g. 150018).
public var libpqVersion: Int { Int(PQlibVersion()) }

/// One blocking connection to PostgreSQL over libpq. Not thread-safe: use it from one task at a time.
///
/// ```swift
/// let db = try PostgresConnection(environment["DATABASE_URL"] ?? "")
/// let rows = try db.execute("SELECT title FROM pins WHERE ind = $1", [.int(7)])
/// ```
public final class PostgresConnection {
    public let options: Options
    let handle: OpaquePointer
    let secrets: ConnectionSecrets
    private var savepointDepth = 0

    /// Connects with a `key=value` conninfo string or a `postgres://` / `postgresql://` URL.
    /// An empty string uses libpq's defaults (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, …).
    public init(_ conninfo: String = "", options: Options = Options()) throws(PostgresError) {
        self.options = options
        self.secrets = try ConnectionSecrets(conninfo: conninfo)
        // Our defaults come first: with expand_dbname, settings in the string that follows override them.
        let pairs: [(String, String)] = [
            ("connect_timeout", String(options.connectTimeoutSeconds)),
            ("fallback_application_name", options.applicationName),
            ("keepalives_idle", String(options.keepaliveIdleSeconds)),
            ("keepalives_interval", String(options.keepaliveIntervalSeconds)),
            ("keepalives_count", String(options.keepaliveCount)),
            ("dbname", conninfo),
        ]
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keywordPointers = keywords.map { UnsafePointer($0) } + [nil]
        let valuePointers = values.map { UnsafePointer($0) } + [nil]
        guard let handle = PQconnectdbParams(keywordPointers, valuePointers, 1) else {
            throw PostgresError(kind: .connection, message: "out of memory allocating a connection")
        }
        self.handle = handle
        guard PQstatus(handle) == CONNECTION_OK else {
            // Every stored property is set, so deinit runs on this throw and frees the handle.
            throw PostgresError(kind: .connection, message: secrets.scrub(String(cString: PQerrorMessage(handle))))
        }
        // libpq prints notices (e.g. "relation already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit {
        PQfinish(handle)
    }

    /// The connection is open as far as libpq knows (a dropped socket is noticed on the next statement).
    public var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The server process id serving this connection.
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// The server version as an integer, e.g. 150018.
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// True while inside a transaction block (also when it has failed and awaits ROLLBACK).
    public var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Runs one statement with `$1…$n` parameters sent separately from the SQL (never interpolated).
    /// A `nil` parameter is SQL NULL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue?] = []) throws(PostgresError) -> PostgresRows {
        var buffer: [UInt8] = []
        var offsets: [Int?] = []
        for (index, parameter) in parameters.enumerated() {
            guard let parameter else {
                offsets.append(nil)
                continue
            }
            let bytes = parameter.textRepresentation
            if bytes.contains(0) {
                throw PostgresError(
                    kind: .invalidValue,
                    message: "parameter $\(index + 1) contains a NUL byte (0x00), which PostgreSQL text cannot store",
                    column: "$\(index + 1)")
            }
            offsets.append(buffer.count)
            buffer.append(contentsOf: bytes)
            buffer.append(0)
        }
        let result = buffer.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                offset.flatMap { base?.advanced(by: $0).assumingMemoryBound(to: CChar.self) }
            }
            return PQexecParams(handle, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        return try rows(from: result)
    }

    /// Runs one or more `;`-separated statements without parameters (schema scripts). Returns the last result.
    @discardableResult
    public func executeScript(_ sql: String) throws(PostgresError) -> PostgresRows {
        try rows(from: PQexec(handle, sql))
    }

    /// Runs `body` between BEGIN and COMMIT; rolls back and rethrows if `body` (or COMMIT) throws.
    /// Also refuses to report success for a transaction the server already aborted.
    /// Called inside a transaction, it runs `body` in a savepoint instead, so an inner failure undoes only
    /// the inner work.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if inTransaction { return try savepoint(body) }
        try execute("BEGIN")
        do {
            let value = try body(self)
            try checkNotAborted()
            try execute("COMMIT")
            return value
        } catch {
            rollbackQuietly()
            throw error
        }
    }

    private func savepoint<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "pinpipe_savepoint_\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body(self)
            try checkNotAborted()
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            if isHealthy, let result = PQexec(handle, "ROLLBACK TO SAVEPOINT \(name); RELEASE SAVEPOINT \(name)") {
                PQclear(result)
            }
            throw error
        }
    }

    private func checkNotAborted() throws(PostgresError) {
        if PQtransactionStatus(handle) == PQTRANS_INERROR {
            throw PostgresError(
                kind: .server, message: "current transaction is aborted; it was rolled back", sqlState: "25P02",
                severity: "ERROR")
        }
    }

    /// Reopens the connection with the same settings, once.
    public func reset() throws(PostgresError) {
        PQreset(handle)
        guard isHealthy else {
            throw PostgresError(kind: .connection, message: secrets.scrub(String(cString: PQerrorMessage(handle))))
        }
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    /// Reopens the connection, trying up to `options.maxAttempts` times with exponential backoff.
    public func reconnect() throws(PostgresError) {
        var attempt = 0
        while true {
            do {
                try reset()
                return
            } catch {
                attempt += 1
                if attempt >= options.maxAttempts { throw error }
                sleep(backoff(attempt: attempt))
            }
        }
    }

    /// Runs `body`, retrying it on transient errors (`PostgresError.isTransient`) up to `options.maxAttempts`
    /// times with backoff, reconnecting first when the connection was lost. `body` must be safe to repeat,
    /// e.g. one whole transaction.
    public func retrying<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                // One reset per attempt: this loop already backs off between attempts.
                if !isHealthy { try reset() }
                return try body(self)
            } catch let error as PostgresError where error.isTransient {
                attempt += 1
                if attempt >= options.maxAttempts { throw error }
                sleep(backoff(attempt: attempt))
            }
        }
    }

    /// Quotes an identifier (table or column name) for use in SQL text.
    public static func quoted(identifier: String) -> String {
        "\"" + identifier.replacing("\"", with: "\"\"") + "\""
    }

    // MARK: - Internals

    func rollbackQuietly() {
        guard isHealthy, PQtransactionStatus(handle) != PQTRANS_IDLE else { return }
        if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    /// Converts a finished statement's result into rows, or throws the error it carries. Frees `result`.
    func rows(from result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else { throw connectionError() }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            break
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            leaveCopyState(status)
            throw PostgresError(
                kind: .protocolViolation,
                message: "COPY … STDIN/STDOUT cannot run through execute; use copyIn for COPY FROM STDIN")
        default:
            throw error(from: result)
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var rowValues: [String?] = []
            rowValues.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    rowValues.append(nil)
                } else {
                    rowValues.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            values.append(rowValues)
        }
        let tag = String(cString: PQcmdStatus(result))
        let affected = Int64(String(cString: PQcmdTuples(result)))
        return PostgresRows(columns: columns, values: values, commandTag: tag, affectedRows: affected)
    }

    /// The error a failed result carries: the server's fields when it sent them, else libpq's (scrubbed) message.
    func error(from result: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let broken = !isHealthy
        guard let sqlState = field("C") else {
            let message = secrets.scrub(String(cString: PQresultErrorMessage(result)))
            return PostgresError(
                kind: broken ? .connection : .protocolViolation, message: message, connectionBroken: broken)
        }
        return PostgresError(
            kind: .server, message: field("M") ?? "", sqlState: sqlState, severity: field("V") ?? field("S"),
            column: field("c"), detail: field("D"), hint: field("H"), connectionBroken: broken)
    }

    func connectionError() -> PostgresError {
        PostgresError(
            kind: .connection, message: secrets.scrub(String(cString: PQerrorMessage(handle))),
            connectionBroken: !isHealthy)
    }

    /// Leaves a COPY state we did not ask for (or gave up on), then discards the remaining results.
    func leaveCopyState(_ status: ExecStatusType) {
        if status == PGRES_COPY_OUT {
            var data: UnsafeMutablePointer<CChar>? = nil
            while PQgetCopyData(handle, &data, 0) > 0 {
                PQfreemem(data)
                data = nil
            }
        } else if status == PGRES_COPY_IN || status == PGRES_COPY_BOTH {
            _ = PQputCopyEnd(handle, "COPY abandoned by the client")
        }
        drainResults()
    }

    /// Reads results until libpq has none left, getting out of COPY states on the way.
    func drainResults() {
        while isHealthy, let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
                leaveCopyState(status)
                return
            }
        }
    }

    private func backoff(attempt: Int) -> Duration {
        let exponent = min(attempt - 1, 20)
        let base = options.initialBackoff * (1 << exponent)
        let capped = base > options.maxBackoff ? options.maxBackoff : base
        return capped * Double.random(in: 0.5...1.0)
    }

    private func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}
