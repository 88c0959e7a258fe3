/// The values of one COPY row being written; append one value per column, in order.
public struct CopyRow {
    let columns: [String]
    var bytes: [UInt8]
    private var count = 0
    /// Items of the array being written (`beginArray()`).
    private var arrayItems = 0

    init(columns: [String], bytes: [UInt8]) {
        self.columns = columns
        self.bytes = bytes
    }

    public mutating func appendNull() {
        separate()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    public mutating func append(_ value: String?) throws(PostgresError) {
        guard let value else { return appendNull() }
        separate()
        try appendEscaped(value)
    }

    public mutating func append(_ value: Int64?) {
        guard let value else { return appendNull() }
        separate()
        appendDecimal(value)
    }

    public mutating func append(_ value: Int32?) {
        append(value.map(Int64.init))
    }

    public mutating func append(_ value: Bool?) {
        guard let value else { return appendNull() }
        separate()
        bytes.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// A `text[]` value; an empty list is `{}`, not NULL.
    public mutating func append(_ value: [String]?) throws(PostgresError) {
        guard let value else { return appendNull() }
        separate()
        bytes.append(UInt8(ascii: "{"))
        for (index, item) in value.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            try appendArrayItem(item)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// A text value given as its UTF-8 bytes (valid UTF-8, as a `String`'s would be); nil is NULL.
    public mutating func append(utf8 value: UnsafeRawBufferPointer?) throws(PostgresError) {
        guard let value else { return appendNull() }
        separate()
        if !appendEscaped(value.assumingMemoryBound(to: UInt8.self), arrayElement: false) { throw nulError() }
    }

    /// Starts a `text[]` value; add its items with `appendArrayItem(utf8:)`, then call `endArray()`.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        arrayItems = 0
    }

    /// One item of the array begun with `beginArray()`, as its UTF-8 bytes.
    public mutating func appendArrayItem(utf8 item: UnsafeRawBufferPointer) throws(PostgresError) {
        if arrayItems > 0 { bytes.append(UInt8(ascii: ",")) }
        arrayItems += 1
        bytes.append(UInt8(ascii: "\""))
        if !appendEscaped(item.assumingMemoryBound(to: UInt8.self), arrayElement: true) { throw nulError() }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "}"))
    }

    /// A `bytea` value (any bytes, NUL included).
    public mutating func append(bytea value: [UInt8]?) {
        guard let value else { return appendNull() }
        separate()
        // The text form is \x<hex>; the backslash itself is escaped for COPY.
        bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
        PostgresArrayLiteral.appendHex(value, to: &bytes)
    }

    public mutating func append(_ value: PostgresValue?) throws(PostgresError) {
        switch value {
        case nil: appendNull()
        case .text(let text): try append(text)
        case .int(let number): append(number)
        case .bool(let flag): append(flag)
        case .bytea(let data): append(bytea: data)
        case .double, .textArray:
            separate()
            try appendEscaped(bytes: value!.textRepresentation)
        }
    }

    mutating func finish() throws(PostgresError) {
        if !columns.isEmpty, count != columns.count {
            throw PostgresError(
                kind: .invalidValue, message: "row has \(count) values but the COPY has \(columns.count) columns")
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    // MARK: - Encoding

    private mutating func separate() {
        if count > 0 { bytes.append(UInt8(ascii: "\t")) }
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
        let clean = value.withUTF8 { utf8 in appendEscaped(utf8, arrayElement: false) }
        if !clean { throw nulError() }
    }

    private mutating func appendEscaped(bytes value: [UInt8]) throws(PostgresError) {
        let clean = value.withUnsafeBufferPointer { appendEscaped($0, arrayElement: false) }
        if !clean { throw nulError() }
    }

    /// One quoted array element.
    private mutating func appendArrayItem(_ item: String) throws(PostgresError) {
        var item = item
        bytes.append(UInt8(ascii: "\""))
        let clean = item.withUTF8 { utf8 in appendEscaped(utf8, arrayElement: true) }
        if !clean { throw nulError() }
        bytes.append(UInt8(ascii: "\""))
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
