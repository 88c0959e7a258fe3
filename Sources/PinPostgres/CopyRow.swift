/// How a `COPY … FROM STDIN` reads its rows: PostgreSQL's text format (tab-separated, escaped) or its
/// binary format (each value as its length and its bytes). Binary costs the server about a quarter less
/// to read, since nothing is unescaped or parsed; its values must match the column types exactly
/// (`Int64` for bigint, `Int32` for int).
public enum CopyFormat: Sendable {
    case text
    case binary

    /// What a `COPY … FROM STDIN` statement appends to ask for this format.
    public var statementOption: String { self == .binary ? " (FORMAT binary)" : "" }
}

/// The values of one COPY row being written; append one value per column, in order.
public struct CopyRow {
    let columns: [String]
    let format: CopyFormat
    var bytes: [UInt8]
    private var count = 0
    /// Where the row starts in `bytes` (binary: its field count is written there by `finish()`).
    private let rowStart: Int
    /// Items of the array being written (`beginArray()`), and where it starts in `bytes` (binary).
    private var arrayItems = 0
    private var arrayStart = 0

    init(columns: [String], format: CopyFormat = .text, bytes: [UInt8]) {
        var bytes = bytes
        self.init(columns: columns, format: format, appendingTo: &bytes)
    }

    /// A row appended to `buffer`, which is left empty until the row gives its bytes back with
    /// `swap(&row.bytes, &buffer)` (moved, not copied).
    init(columns: [String], format: CopyFormat, appendingTo buffer: inout [UInt8]) {
        self.columns = columns
        self.format = format
        self.bytes = []
        swap(&self.bytes, &buffer)
        rowStart = self.bytes.count
        if format == .binary { self.bytes.append(contentsOf: [0, 0]) }
    }

    public mutating func appendNull() {
        separate()
        switch format {
        case .text:
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "N"))
        case .binary:
            appendBigEndian(Int32(-1))
        }
    }

    public mutating func append(_ value: String?) throws(PostgresError) {
        guard let value else { return appendNull() }
        separate()
        try appendEscaped(value)
    }

    public mutating func append(_ value: Int64?) {
        guard let value else { return appendNull() }
        separate()
        switch format {
        case .text: appendDecimal(value)
        case .binary:
            appendBigEndian(Int32(8))
            appendBigEndian(value)
        }
    }

    /// An `int` (int4) value.
    public mutating func append(_ value: Int32?) {
        guard let value else { return appendNull() }
        separate()
        switch format {
        case .text: appendDecimal(Int64(value))
        case .binary:
            appendBigEndian(Int32(4))
            appendBigEndian(value)
        }
    }

    public mutating func append(_ value: Bool?) {
        guard let value else { return appendNull() }
        separate()
        switch format {
        case .text: bytes.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .binary:
            appendBigEndian(Int32(1))
            bytes.append(value ? 1 : 0)
        }
    }

    /// A `text[]` value; an empty list is `{}`, not NULL.
    public mutating func append(_ value: [String]?) throws(PostgresError) {
        guard let value else { return appendNull() }
        try appendArray(value.lazy.map(Optional.some))
    }

    /// A whole `text[]` value whose items may be NULL.
    private mutating func appendArray(_ items: some Sequence<String?>) throws(PostgresError) {
        beginArray()
        for item in items {
            guard var item else {
                appendNullArrayItem()
                continue
            }
            if !item.withUTF8({ appendArrayItem($0) }) { throw nulError() }
        }
        endArray()
    }

    /// A text value given as its UTF-8 bytes (valid UTF-8, as a `String`'s would be); nil is NULL.
    public mutating func append(utf8 value: UnsafeRawBufferPointer?) throws(PostgresError) {
        guard let value else { return appendNull() }
        separate()
        if !appendText(value.assumingMemoryBound(to: UInt8.self), arrayElement: false) { throw nulError() }
    }

    /// Starts a `text[]` value; add its items with `appendArrayItem(utf8:)`, then call `endArray()`.
    public mutating func beginArray() {
        separate()
        arrayItems = 0
        arrayStart = bytes.count
        switch format {
        case .text: bytes.append(UInt8(ascii: "{"))
        case .binary:
            // Length (set by endArray), dimensions 1, no NULL items, element type text (OID 25),
            // items (set by endArray), lower bound 1.
            for word: Int32 in [0, 1, 0, 25, 0, 1] { appendBigEndian(word) }
        }
    }

    /// One item of the array begun with `beginArray()`, as its UTF-8 bytes.
    public mutating func appendArrayItem(utf8 item: UnsafeRawBufferPointer) throws(PostgresError) {
        if !appendArrayItem(item.assumingMemoryBound(to: UInt8.self)) { throw nulError() }
    }

    /// A NULL item of the array begun with `beginArray()`.
    private mutating func appendNullArrayItem() {
        arrayItems += 1
        switch format {
        case .text:
            if arrayItems > 1 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: "NULL".utf8)
        case .binary:
            appendBigEndian(Int32(-1))
            setBigEndian(Int32(1), at: arrayStart + 8)  // the array holds NULLs
        }
    }

    /// False on a NUL byte.
    private mutating func appendArrayItem(_ item: UnsafeBufferPointer<UInt8>) -> Bool {
        arrayItems += 1
        switch format {
        case .text:
            if arrayItems > 1 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            defer { bytes.append(UInt8(ascii: "\"")) }
            return appendText(item, arrayElement: true)
        case .binary:
            return appendText(item, arrayElement: true)
        }
    }

    public mutating func endArray() {
        switch format {
        case .text: bytes.append(UInt8(ascii: "}"))
        case .binary:
            if arrayItems == 0 {
                // An empty array has no dimensions: drop the size and lower bound.
                bytes.removeLast(8)
                setBigEndian(Int32(0), at: arrayStart + 4)
            } else {
                setBigEndian(Int32(arrayItems), at: arrayStart + 16)
            }
            setBigEndian(Int32(bytes.count - arrayStart - 4), at: arrayStart)
        }
    }

    /// A `bytea` value (any bytes, NUL included).
    public mutating func append(bytea value: [UInt8]?) {
        guard let value else { return appendNull() }
        separate()
        switch format {
        case .text:
            // The text form is \x<hex>; the backslash itself is escaped for COPY.
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
            PostgresArrayLiteral.appendHex(value, to: &bytes)
        case .binary:
            appendBigEndian(Int32(value.count))
            bytes.append(contentsOf: value)
        }
    }

    /// A parameter-style value. In binary COPY, `.int` is a bigint and `.double` a double precision.
    public mutating func append(_ value: PostgresValue?) throws(PostgresError) {
        switch value {
        case nil: appendNull()
        case .text(let text): try append(text)
        case .int(let number): append(number)
        case .bool(let flag): append(flag)
        case .bytea(let data): append(bytea: data)
        case .textArray(let items): try appendArray(items)
        case .double(let number) where format == .binary:
            separate()
            appendBigEndian(Int32(8))
            appendBigEndian(number.bitPattern)
        case .double:
            separate()
            try appendEscaped(bytes: value!.textRepresentation)
        }
    }

    mutating func finish() throws(PostgresError) {
        if !columns.isEmpty, count != columns.count {
            throw PostgresError(
                kind: .invalidValue, message: "row has \(count) values but the COPY has \(columns.count) columns")
        }
        switch format {
        case .text: bytes.append(UInt8(ascii: "\n"))
        case .binary:
            guard count <= Int(Int16.max) else {
                throw PostgresError(kind: .invalidValue, message: "row has \(count) values, more than COPY allows")
            }
            setBigEndian(Int16(count), at: rowStart)
        }
    }

    // MARK: - Encoding

    private mutating func separate() {
        if count > 0, format == .text { bytes.append(UInt8(ascii: "\t")) }
        count += 1
    }

    private var columnName: String {
        count - 1 < columns.count ? columns[count - 1] : "column \(count)"
    }

    private func nulError() -> PostgresError {
        PostgresError(
            kind: .invalidValue,
            message: "column \"\(columnName)\" contains a NUL byte (0x00), which PostgreSQL text cannot store",
            column: columnName)
    }

    private mutating func appendEscaped(_ value: String) throws(PostgresError) {
        var value = value
        let clean = value.withUTF8 { utf8 in appendText(utf8, arrayElement: false) }
        if !clean { throw nulError() }
    }

    private mutating func appendEscaped(bytes value: [UInt8]) throws(PostgresError) {
        let clean = value.withUnsafeBufferPointer { appendText($0, arrayElement: false) }
        if !clean { throw nulError() }
    }

    /// One text value (or array item): escaped in text COPY, its length and bytes in binary COPY.
    /// Returns false on a NUL byte, which PostgreSQL text cannot hold.
    private mutating func appendText(_ utf8: UnsafeBufferPointer<UInt8>, arrayElement: Bool) -> Bool {
        switch format {
        case .text:
            return appendEscaped(utf8, arrayElement: arrayElement)
        case .binary:
            guard !Self.containsNUL(utf8) else { return false }
            appendBigEndian(Int32(utf8.count))
            bytes.append(contentsOf: utf8)
            return true
        }
    }

    private static func containsNUL(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        let count = utf8.count
        while index + 8 <= count {
            let word = UnsafeRawPointer(utf8.baseAddress! + index).loadUnaligned(as: UInt64.self)
            if (word &- ones) & ~word & highs != 0 { return true }
            index += 8
        }
        while index < count {
            if utf8[index] == 0 { return true }
            index += 1
        }
        return false
    }

    private mutating func appendBigEndian<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func setBigEndian<Value: FixedWidthInteger>(_ value: Value, at offset: Int) {
        withUnsafeBytes(of: value.bigEndian) { word in
            for index in word.indices { bytes[offset + index] = word[index] }
        }
    }

    /// COPY text escaping (`\\`, `\t`, `\n`, `\r`); for a quoted array element, array escaping (`\"`, `\\`)
    /// first, in the same pass. Returns false on a NUL byte. Runs without special bytes are copied in bulk.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, arrayElement: Bool) -> Bool {
        var runStart = 0
        var index = 0
        let count = utf8.count
        while index < count {
            // Eight bytes at a time while none of them can be special (a control byte, a backslash or `"`).
            if index + 8 <= count,
                !Self.mayNeedEscaping(UnsafeRawPointer(utf8.baseAddress! + index).loadUnaligned(as: UInt64.self))
            {
                index += 8
                continue
            }
            let byte = utf8[index]
            index += 1
            // Every special byte is at most 0x5C; most text bytes (lowercase letters, UTF-8) are above.
            if byte > UInt8(ascii: "\\") { continue }
            let escaped: StaticString
            switch byte {
            case 0: return false
            case UInt8(ascii: "\\"): escaped = arrayElement ? #"\\\\"# : #"\\"#
            case UInt8(ascii: "\"") where arrayElement: escaped = #"\\""#
            case UInt8(ascii: "\t"): escaped = #"\t"#
            case UInt8(ascii: "\n"): escaped = #"\n"#
            case UInt8(ascii: "\r"): escaped = #"\r"#
            default: continue
            }
            let at = index - 1
            if at > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<at])) }
            escaped.withUTF8Buffer { bytes.append(contentsOf: $0) }
            runStart = index
        }
        if count > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        return true
    }

    /// Whether any byte of `word` is below 0x0E (NUL, tab, newline, carriage return among them), a backslash or `"`.
    /// Exact for "none"; a word it flags is looked at byte by byte.
    private static func mayNeedEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let below0E = (word &- ones &* 0x0E) & ~word & highs
        let backslash = word ^ (ones &* 0x5C)
        let quote = word ^ (ones &* 0x22)
        let zeroInBackslash = (backslash &- ones) & ~backslash & highs
        let zeroInQuote = (quote &- ones) & ~quote & highs
        return below0E | zeroInBackslash | zeroInQuote != 0
    }

    private mutating func appendDecimal(_ value: Int64) {
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var length = 0
        withUnsafeMutableBytes(of: &digits) { digitBytes in
            while magnitude > 0 {
                digitBytes[length] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                length += 1
            }
            for index in stride(from: length - 1, through: 0, by: -1) { bytes.append(digitBytes[index]) }
        }
    }
}
