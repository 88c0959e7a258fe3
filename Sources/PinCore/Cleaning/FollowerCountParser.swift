/// Parses follower counts: `[0-9]+`, or `<digits>[.<digits>]` followed by `k`, `M` or `B`
/// (case-sensitive), computed exactly in decimal and rounded half-up (`"1.2345k"` → 1235).
/// Anything else, and anything over Int64, is not a count.
enum FollowerCountParser {
    struct Parsed: Equatable {
        var value: Int64
        var suffixed: Bool
    }

    static func parse(_ text: String) -> Parsed? {
        var utf8 = Array(text.utf8)
        guard let last = utf8.last else { return nil }
        let exponent: Int
        switch last {
        case UInt8(ascii: "k"): exponent = 3
        case UInt8(ascii: "M"): exponent = 6
        case UInt8(ascii: "B"): exponent = 9
        default:
            guard utf8.allSatisfy(isDigit), let value = decimal(utf8[...]) else { return nil }
            return Parsed(value: value, suffixed: false)
        }
        utf8.removeLast()
        let whole: ArraySlice<UInt8>
        var fraction: ArraySlice<UInt8> = []
        if let dot = utf8.firstIndex(of: UInt8(ascii: ".")) {
            whole = utf8[..<dot]
            fraction = utf8[(dot + 1)...]
            guard !fraction.isEmpty else { return nil }
        } else {
            whole = utf8[...]
        }
        guard !whole.isEmpty, whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else { return nil }

        // value = whole × 10^exponent + the first `exponent` fraction digits, rounded on the next one.
        let kept = fraction.prefix(exponent)
        var digits = Array(whole) + Array(kept)
        digits += Array(repeating: UInt8(ascii: "0"), count: exponent - kept.count)
        guard var value = decimal(digits[...]) else { return nil }
        if fraction.count > exponent, fraction[fraction.startIndex + exponent] >= UInt8(ascii: "5") {
            let (rounded, overflow) = value.addingReportingOverflow(1)
            guard !overflow else { return nil }
            value = rounded
        }
        return Parsed(value: value, suffixed: true)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func decimal(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        for digit in digits {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}
