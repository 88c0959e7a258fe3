/// Clean rows packed back to back in one byte buffer, in the clean columns' order, so a batch of rows
/// travels between threads and into a columnar writer without a `String` per value.
///
/// Per column: integers as a presence byte and 8 little-endian bytes; strings as a 4-byte little-endian
/// length (`UInt32.max` for null) and the UTF-8 bytes; tag lists as a 4-byte count (`UInt32.max` for null),
/// a 4-byte byte count, then the items PLAIN-encoded as Parquet has them (4-byte length, bytes);
/// booleans as one byte (0, 1, or 2 for null).
public struct CleanRows: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Where each row ends in `bytes`.
    private var ends: [Int] = []

    public var count: Int { ends.count }

    /// Where row `index` starts in `bytes`.
    public func start(of index: Int) -> Int { index == 0 ? 0 : ends[index - 1] }

    public init(reservingBytes capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Forgets every row, keeping the buffers for the next ones.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    /// Appends a row cleaned the usual way.
    public mutating func append(_ pin: CleanPin) {
        appendInteger(pin.ind)
        appendString(pin.uniqueID)
        appendString(pin.title)
        appendString(pin.description)
        appendInteger(pin.followerCount)
        appendString(pin.posterName)
        if let tags = pin.tagList {
            let header = beginList()
            for var tag in tags { tag.withUTF8 { appendListItem($0) } }
            endList(header, items: tags.count)
        } else {
            appendNullList()
        }
        appendString(pin.isImageOrVideo)
        appendString(pin.imageSrc)
        appendString(pin.saveLocation)
        appendString(pin.category)
        appendBool(pin.downloaded)
        endRow()
    }

    // MARK: writing, column by column

    mutating func endRow() { ends.append(bytes.count) }

    @inline(__always)
    mutating func appendInteger(_ value: Int64?) {
        bytes.append(value == nil ? 0 : 1)
        let word = UInt64(bitPattern: value ?? 0)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> shift)) }
    }

    @inline(__always)
    mutating func appendBool(_ value: Bool?) {
        bytes.append(value.map { $0 ? 1 : 0 } ?? 2)
    }

    @inline(__always)
    private mutating func appendLength(_ length: UInt32) {
        // Byte by byte: cheaper than appending a 4-byte buffer.
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
    }

    @inline(__always)
    mutating func appendString(_ utf8: UnsafeBufferPointer<UInt8>) {
        appendLength(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func appendString(_ value: String?) {
        guard var value else { return appendNullString() }
        value.withUTF8 { appendString($0) }
    }

    @inline(__always)
    mutating func appendNullString() { appendLength(.max) }

    /// Starts a list; returns where its header is, for `endList`.
    @inline(__always)
    mutating func beginList() -> Int {
        let header = bytes.count
        appendLength(0)
        appendLength(0)
        return header
    }

    @inline(__always)
    mutating func appendListItem(_ utf8: UnsafeBufferPointer<UInt8>) {
        appendString(utf8)
    }

    mutating func endList(_ header: Int, items: Int) {
        let size = bytes.count - header - 8
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(items).littleEndian, toByteOffset: header, as: UInt32.self)
            raw.storeBytes(of: UInt32(size).littleEndian, toByteOffset: header + 4, as: UInt32.self)
        }
    }

    @inline(__always)
    mutating func appendNullList() { appendLength(.max) }

    // MARK: reading

    /// Reads the rows of `bytes` back, column by column in the order they were written.
    public struct Reader {
        private let base: UnsafeRawBufferPointer
        private var offset = 0

        /// Reads from `offset`, a row's start.
        public init(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) {
            base = bytes
            self.offset = offset
        }

        public var atEnd: Bool { offset >= base.count }

        public mutating func integer() -> Int64? {
            let present = base[offset] != 0
            let value = Int64(littleEndian: base.loadUnaligned(fromByteOffset: offset + 1, as: Int64.self))
            offset += 9
            return present ? value : nil
        }

        public mutating func bool() -> Bool? {
            let byte = base[offset]
            offset += 1
            return byte == 2 ? nil : byte == 1
        }

        private mutating func length() -> UInt32 {
            let value = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
            return value
        }

        /// A string's UTF-8 bytes; nil for null.
        public mutating func string() -> UnsafeRawBufferPointer? {
            let count = length()
            guard count != .max else { return nil }
            defer { offset += Int(count) }
            return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + Int(count))])
        }

        /// A list's item count and its items PLAIN-encoded (4-byte length, bytes); nil for null.
        public mutating func list() -> (count: Int, plain: UnsafeRawBufferPointer)? {
            let items = length()
            guard items != .max else { return nil }
            let size = Int(length())
            defer { offset += size }
            return (Int(items), UnsafeRawBufferPointer(rebasing: base[offset..<(offset + size)]))
        }
    }
}
