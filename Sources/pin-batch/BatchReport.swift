import Foundation
import PinCore

/// What one date's run did: written as `_REPORT.json` and summarised on one line.
struct BatchReport {
    var date: String
    var source: String
    var dest: String
    var sourceObjects: [String] = []
    /// Non-blank input lines (valid records and rejects).
    var rowsIn = 0
    var rejects = 0
    /// Valid records that lost to a copy of the same `unique_id` at a higher position.
    var duplicates = 0
    var rowsOut = 0
    var parts: [String] = []
    /// Cleaning rule counts over the rows written.
    var cleaning = CleaningCounts()
    var nulls: [String: Int] = [:]
    var seconds = 0.0

    func jsonBytes() throws -> [UInt8] {
        var rules: [String: Int] = [:]
        for (rule, count) in cleaning.asPairs() { rules[rule] = count }
        let object: [String: Any] = [
            "date": date,
            "source": source,
            "dest": dest,
            "source_objects": sourceObjects,
            "rows_in": rowsIn,
            "rejects": rejects,
            "duplicates": duplicates,
            "rows_out": rowsOut,
            "parts": parts,
            "cleaning": rules,
            "nulls": nulls,
            "seconds": (seconds * 1000).rounded() / 1000,
        ]
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return Array(data) + [0x0A]
    }

    var summary: String {
        let rate = seconds > 0 ? Int(Double(rowsIn) / seconds) : 0
        return "dt=\(date): \(rowsIn) rows in, \(rowsOut) out, \(duplicates) duplicates, \(rejects) rejected, "
            + "\(sourceObjects.count) objects, \(parts.count) parts in \(String(format: "%.2f", seconds)) s (\(rate) rows/s)"
    }
}
