import Foundation

/// Parses the two date forms S3 uses: `Wed, 12 Oct 2009 17:50:00 GMT` (headers) and
/// `2009-10-12T17:50:30.000Z` (listings).
enum HTTPDate {
    static func parseRFC1123(_ text: String) -> Date? {
        let fields = text.split(separator: " ")
        guard fields.count >= 5, let day = Int32(fields[1]), let year = Int32(fields[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let month = months.firstIndex(of: String(fields[2])) else { return nil }
        let clock = fields[4].split(separator: ":").compactMap { Int32($0) }
        guard clock.count == 3 else { return nil }
        return date(
            year: year, month: Int32(month) + 1, day: day, hour: clock[0], minute: clock[1], second: clock[2],
            fraction: 0)
    }

    static func parseISO8601(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var fraction = 0.0
        if bytes.count > 20, bytes[19] == UInt8(ascii: ".") {
            let digits = bytes[20...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            fraction = Double("0." + String(decoding: digits, as: UTF8.self)) ?? 0
        }
        return date(year: year, month: month, day: day, hour: hour, minute: minute, second: second, fraction: fraction)
    }

    private static func date(
        year: Int32, month: Int32, day: Int32, hour: Int32, minute: Int32, second: Int32, fraction: Double
    ) -> Date {
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Date(timeIntervalSince1970: Double(timegm(&parts)) + fraction)
    }
}
