/// The RLE / bit-packing hybrid encoding used for definition and repetition levels and dictionary indices.
///
/// Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups of 8
/// (at most 63 groups per run, so each run header is one byte). The last group is zero-padded, which
/// the format allows because readers know the value count.
enum RLEHybridEncoder {
    /// Bits needed to store `maxValue` (0 for 0).
    static func bitWidth(_ maxValue: Int) -> Int {
        maxValue == 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount
    }

    static func encode<T: FixedWidthInteger & UnsignedInteger>(
        _ values: UnsafeBufferPointer<T>, bitWidth: Int, into out: inout [UInt8]
    ) {
        let count = values.count
        let valueBytes = (bitWidth + 7) / 8
        var index = 0
        while index < count {
            let run = runLength(values, at: index, limit: Int.max)
            if run >= 8 {
                varint(UInt64(run) << 1, into: &out)
                var value = UInt64(values[index])
                for _ in 0..<valueBytes {
                    out.append(UInt8(truncatingIfNeeded: value))
                    value >>= 8
                }
                index += run
                continue
            }
            let headerAt = out.count
            out.append(0)
            var groups = 0
            while index < count && groups < 63 {
                packGroup(values, at: index, bitWidth: bitWidth, into: &out)
                index += 8
                groups += 1
                if index < count && runLength(values, at: index, limit: 8) >= 8 { break }
            }
            out[headerAt] = UInt8(groups << 1 | 1)
        }
    }

    /// Packs booleans (0 or 1 bytes) one bit each, least significant bit first: PLAIN for BOOLEAN.
    static func packBits(_ values: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var index = 0
        while index < values.count {
            var byte: UInt8 = 0
            for bit in 0..<min(8, values.count - index) {
                byte |= (values[index + bit] & 1) << UInt8(bit)
            }
            out.append(byte)
            index += 8
        }
    }

    @inline(__always)
    private static func runLength<T: FixedWidthInteger>(_ values: UnsafeBufferPointer<T>, at start: Int, limit: Int)
        -> Int
    {
        let value = values[start]
        var end = start + 1
        let stop = limit == Int.max ? values.count : min(values.count, start + limit)
        while end < stop && values[end] == value { end += 1 }
        return end - start
    }

    @inline(__always)
    private static func packGroup<T: FixedWidthInteger>(
        _ values: UnsafeBufferPointer<T>, at start: Int, bitWidth: Int, into out: inout [UInt8]
    ) {
        var accumulator: UInt64 = 0
        var bits = 0
        for offset in 0..<8 {
            let position = start + offset
            let value = position < values.count ? UInt64(truncatingIfNeeded: values[position]) : 0
            accumulator |= value << UInt64(bits)
            bits += bitWidth
            while bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                bits -= 8
            }
        }
    }

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }
}
