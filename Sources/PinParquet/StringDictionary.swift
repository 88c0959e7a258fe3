#if canImport(Glibc)
    import Glibc
#endif

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

    /// Byte equality of `count` bytes at `stored` with `value`: two overlapping words up to 16 bytes
    /// (most values are short tags), `memcmp` beyond.
    @inline(__always)
    private static func equal(_ stored: UnsafeRawPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let count = value.count
        guard count > 0 else { return true }
        let other = value.baseAddress!
        if count >= 8 {
            guard count <= 16 else { return memcmp(stored, other, count) == 0 }
            return stored.loadUnaligned(as: UInt64.self) == other.loadUnaligned(as: UInt64.self)
                && stored.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                    == other.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        var offset = 0
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

    /// A multiply-and-fold hash (as wyhash does it): short values in one step from two overlapping
    /// words, longer ones 32 bytes at a time in two independent lanes, so the multiplies overlap.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return fold(secret0, secret1) }
        var seed = secret0 ^ UInt64(count) &* secret1
        let first: UInt64
        let second: UInt64
        if count <= 16 {
            if count >= 8 {
                first = base.loadUnaligned(as: UInt64.self)
                second = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            } else if count >= 4 {
                first = UInt64(base.loadUnaligned(as: UInt32.self))
                second = UInt64(base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            } else {
                let firstByte = UInt64(base.load(as: UInt8.self))
                let middleByte = UInt64(base.load(fromByteOffset: count >> 1, as: UInt8.self))
                let lastByte = UInt64(base.load(fromByteOffset: count - 1, as: UInt8.self))
                first = firstByte << 16 | middleByte << 8 | lastByte
                second = 0
            }
        } else {
            var offset = 0
            if count > 32 {
                var other = seed
                repeat {
                    seed = fold(
                        base.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ secret1,
                        base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) ^ seed)
                    other = fold(
                        base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self) ^ secret2,
                        base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self) ^ other)
                    offset += 32
                } while count - offset > 32
                seed ^= other
            }
            if count - offset > 16 {
                seed = fold(
                    base.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ secret1,
                    base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) ^ seed)
            }
            first = base.loadUnaligned(fromByteOffset: count - 16, as: UInt64.self)
            second = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        return fold(secret1 ^ UInt64(count), fold(first ^ secret1, second ^ seed))
    }

    /// The high and low halves of the full 128-bit product, xored.
    @inline(__always)
    private static func fold(_ left: UInt64, _ right: UInt64) -> UInt64 {
        let product = left.multipliedFullWidth(by: right)
        return product.high ^ product.low
    }

    private static let secret0: UInt64 = 0xA076_1D64_78BD_642F
    private static let secret1: UInt64 = 0xE703_7ED1_A0B4_28DB
    private static let secret2: UInt64 = 0x8EBC_6AF0_9C88_C6E3
}
