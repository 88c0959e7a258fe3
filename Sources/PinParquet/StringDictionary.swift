/// A dictionary of byte strings for dictionary encoding, kept directly as the PLAIN-encoded dictionary page
/// (4-byte little-endian length, then the bytes) with an open-addressing index, so adding a value that is
/// already present allocates nothing.
struct StringDictionary {
    /// The dictionary page's PLAIN encoding of every entry, in index order.
    private(set) var page: [UInt8] = []
    /// Where each entry's bytes start in `page` (after its length).
    private var starts: [Int] = []
    private var lengths: [Int32] = []
    /// Two words per slot, so a lookup touches one cache line before the bytes it compares:
    /// the hash's high 32 bits and the entry's length, then where its bytes start in `page` and
    /// entry index + 1 (0 for an empty slot). The slot count is a power of two.
    private var slots: [UInt64] = Array(repeating: 0, count: 2 * 1024)

    var count: Int { starts.count }

    /// The index of `value`, added if new.
    mutating func index(of value: UnsafeRawBufferPointer) -> Int {
        let hash = Self.hash(value)
        let key = hash & 0xFFFF_FFFF_0000_0000 | UInt64(UInt32(truncatingIfNeeded: value.count))
        let found: Int? = slots.withUnsafeBufferPointer { slots in
            page.withUnsafeBytes { page in
                let mask = slots.count / 2 - 1
                var slot = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let place = slots[2 * slot + 1]
                    if place == 0 { return -1 - slot }
                    if slots[2 * slot] == key {
                        let start = Int(truncatingIfNeeded: place >> 32)
                        if Self.equal(page.baseAddress! + start, value) {
                            return Int(truncatingIfNeeded: place & 0xFFFF_FFFF) - 1
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
        if let found, found >= 0 { return found }
        let slot = -1 - found!
        let entry = starts.count
        withUnsafeBytes(of: UInt32(value.count).littleEndian) { page.append(contentsOf: $0) }
        let start = page.count
        starts.append(start)
        lengths.append(Int32(value.count))
        page.append(contentsOf: value)
        slots[2 * slot] = key
        slots[2 * slot + 1] = UInt64(start) << 32 | UInt64(entry + 1)
        if starts.count * 2 > slots.count / 2 { grow() }
        return entry
    }

    /// Byte equality of `count` bytes at `stored` with `value`, eight at a time (values are mostly short).
    @inline(__always)
    private static func equal(_ stored: UnsafeRawPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let count = value.count
        guard count > 0 else { return true }
        let other = value.baseAddress!
        var offset = 0
        while offset + 8 <= count {
            if stored.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != other.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset += 8
        }
        while offset < count {
            if stored.load(fromByteOffset: offset, as: UInt8.self) != other.load(fromByteOffset: offset, as: UInt8.self)
            {
                return false
            }
            offset += 1
        }
        return true
    }

    /// Calls `body` with the bytes of entry `index`.
    func withEntry<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        page.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[starts[index]..<(starts[index] + Int(lengths[index]))]))
        }
    }

    /// Indices of the smallest and largest entries, comparing bytes unsigned; nil when empty.
    func minMaxIndices() -> (min: Int, max: Int)? {
        guard !starts.isEmpty else { return nil }
        return page.withUnsafeBytes { all in
            func entry(_ index: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: all[starts[index]..<(starts[index] + Int(lengths[index]))])
            }
            var low = 0
            var high = 0
            for index in 1..<starts.count {
                let value = entry(index)
                if ByteOrder.less(value, entry(low)) { low = index }
                if ByteOrder.less(entry(high), value) { high = index }
            }
            return (low, high)
        }
    }

    private mutating func grow() {
        var bigger = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = bigger.count / 2 - 1
        for entry in 0..<starts.count {
            let hash = withEntry(entry) { Self.hash($0) }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while bigger[2 * slot + 1] != 0 { slot = (slot + 1) & mask }
            bigger[2 * slot] = hash & 0xFFFF_FFFF_0000_0000 | UInt64(UInt32(truncatingIfNeeded: lengths[entry]))
            bigger[2 * slot + 1] = UInt64(starts[entry]) << 32 | UInt64(entry + 1)
        }
        slots = bigger
    }

    /// A fast multiplicative hash reading eight bytes at a time.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var hash = UInt64(bytes.count) &* multiplier
        var offset = 0
        let count = bytes.count
        while offset + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            hash = (hash ^ word) &* multiplier
            hash ^= hash >> 29
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            hash = (hash ^ tail) &* multiplier
        }
        hash ^= hash >> 32
        hash = hash &* 0xD6E8_FEB8_6659_FD93
        hash ^= hash >> 32
        return hash
    }
}
