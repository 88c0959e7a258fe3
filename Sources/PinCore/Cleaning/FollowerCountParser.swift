/// Parses follower counts: `[0-9]+`, or `<digits>[.<digits>]` followed by `k`, `M` or `B`
/// (case-sensitive), computed exactly in decimal and rounded half-up (`"1.2345k"` → 1235).
/// Anything else, and anything over Int64, is not a count.
enum FollowerCountParser {
    struct Parsed: Equatable {
        var value: Int64
        var suffixed: Bool
    }

    static func parse(_ text: String) -> Parsed? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    static func parse(_ utf8: UnsafeBufferPointer<UInt8>) -> Parsed? {
        guard let last = utf8.last else { return nil }
        let exponent: Int
        switch last {
        case UInt8(ascii: "k"): exponent = 3
        case UInt8(ascii: "M"): exponent = 6
        case UInt8(ascii: "B"): exponent = 9
        default:
            guard utf8.allSatisfy(isDigit) else { return nil }
            var value: Int64 = 0
            for digit in utf8 {
                guard let next = appending(digit, to: value) else { return nil }
                value = next
            }
            return Parsed(value: value, suffixed: false)
        }
        let number = UnsafeBufferPointer(rebasing: utf8.dropLast())
        let whole: Slice<UnsafeBufferPointer<UInt8>>
        var fraction: Slice<UnsafeBufferPointer<UInt8>> = number[number.endIndex...]
        if let dot = number.firstIndex(of: UInt8(ascii: ".")) {
            whole = number[..<dot]
            fraction = number[(dot + 1)...]
            guard !fraction.isEmpty else { return nil }
        } else {
            whole = number[...]
        }
        guard !whole.isEmpty, whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else { return nil }

        // value = whole × 10^exponent + the first `exponent` fraction digits, rounded on the next one.
        let kept = fraction.prefix(exponent)
        var value: Int64 = 0
        for digit in whole {
            guard let next = appending(digit, to: value) else { return nil }
            value = next
        }
        for digit in kept {
            guard let next = appending(digit, to: value) else { return nil }
            value = next
        }
        for _ in kept.count..<exponent {
            guard let next = appending(UInt8(ascii: "0"), to: value) else { return nil }
            value = next
        }
        if fraction.count > exponent, fraction[fraction.startIndex + exponent] >= UInt8(ascii: "5") {
            let (rounded, overflow) = value.addingReportingOverflow(1)
            guard !overflow else { return nil }
            value = rounded
        }
        return Parsed(value: value, suffixed: true)
    }

    /// `value` × 10 + `digit`; nil past Int64.
    @inline(__always)
    private static func appending(_ digit: UInt8, to value: Int64) -> Int64? {
        let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
        return overflow1 || overflow2 ? nil : sum
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
