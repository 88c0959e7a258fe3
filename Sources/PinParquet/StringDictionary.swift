/// A dictionary of byte strings for dictionary encoding, kept directly as the PLAIN-encoded dictionary page
/// (4-byte little-endian length, then the bytes) with an open-addressing index, so adding a value that is
/// already present allocates nothing.
struct StringDictionary {
    /// The dictionary page's PLAIN encoding of every entry, in index order.
    private(set) var page: [UInt8] = []
    /// Where each entry's bytes start in `page` (after its length).
    private var starts: [Int] = []
    private var lengths: [Int32] = []
    /// Per slot: the hash's high 32 bits, then entry index + 1 in the low 32 bits; 0 is empty.
    /// The count is a power of two.
    private var slots: [UInt64] = Array(repeating: 0, count: 1024)

    var count: Int { starts.count }

    /// The index of `value`, added if new.
    mutating func index(of value: UnsafeRawBufferPointer) -> Int {
        let hash = Self.hash(value)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        let tag = hash & 0xFFFF_FFFF_0000_0000
        while true {
            let stored = slots[slot]
            if stored == 0 { break }
            if stored & 0xFFFF_FFFF_0000_0000 == tag {
                let entry = Int(stored & 0xFFFF_FFFF) - 1
                if Int(lengths[entry]) == value.count && equals(entry, value) { return entry }
            }
            slot = (slot + 1) & mask
        }
        let entry = starts.count
        withUnsafeBytes(of: UInt32(value.count).littleEndian) { page.append(contentsOf: $0) }
        starts.append(page.count)
        lengths.append(Int32(value.count))
        page.append(contentsOf: value)
        slots[slot] = tag | UInt64(entry + 1)
        if starts.count * 2 > slots.count { grow() }
        return entry
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

    private func equals(_ entry: Int, _ value: UnsafeRawBufferPointer) -> Bool {
        page.withUnsafeBytes { all in
            ByteOrder.equal(UnsafeRawBufferPointer(rebasing: all[starts[entry]..<(starts[entry] + value.count)]), value)
        }
    }

    private mutating func grow() {
        var bigger = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        for entry in 0..<starts.count {
            let hash = withEntry(entry) { Self.hash($0) }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while bigger[slot] != 0 { slot = (slot + 1) & mask }
            bigger[slot] = hash & 0xFFFF_FFFF_0000_0000 | UInt64(entry + 1)
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
