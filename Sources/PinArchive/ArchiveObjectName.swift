import Foundation
import PinCompression

/// The key of one archive object: `<prefix><topic>/dt=YYYY-MM-DD/<topic>+<partition>+<first offset, 20 digits>.jsonl[.gz|.zst]`.
public struct ArchiveObjectName: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var firstOffset: Int64
    /// `YYYY-MM-DD`, the UTC date of the messages' timestamps.
    public var date: String
    /// How the object's NDJSON is compressed; it sets the suffix after `.jsonl`.
    public var format: StreamFormat

    public init(topic: String, partition: Int32, firstOffset: Int64, date: String, format: StreamFormat = .none) {
        self.topic = topic
        self.partition = partition
        self.firstOffset = firstOffset
        self.date = date
        self.format = format
    }

    /// The file name, without the folders.
    public var fileName: String {
        let digits = String(firstOffset)
        return
            "\(topic)+\(partition)+\(String(repeating: "0", count: max(0, 20 - digits.count)))\(digits).jsonl\(format.fileExtension)"
    }

    /// The full key under a location prefix ("" or ending with `/`).
    public func key(prefix: String) -> String {
        "\(Self.topicFolder(prefix: prefix, topic: topic))dt=\(date)/\(fileName)"
    }

    /// The folder that holds a topic's `dt=` folders.
    public static func topicFolder(prefix: String, topic: String) -> String { "\(prefix)\(topic)/" }

    /// Parses a key produced by ``key(prefix:)`` for `topic`; nil for anything else.
    /// (Kafka topic names cannot contain `+`, so the split is unambiguous.)
    public init?(key: String, topic: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[parts.count - 2].hasPrefix("dt=") else { return nil }
        let file = parts[parts.count - 1]
        guard file.hasPrefix("\(topic)+"),
            let format = StreamFormat.allCases.first(where: { file.hasSuffix(".jsonl" + $0.fileExtension) })
        else { return nil }
        let middle = file.dropFirst(topic.count + 1).dropLast(6 + format.fileExtension.count)
        let fields = middle.split(separator: "+", omittingEmptySubsequences: false)
        guard fields.count == 2, fields[1].count == 20, let partition = Int32(fields[0]), let offset = Int64(fields[1])
        else {
            return nil
        }
        self.init(
            topic: topic, partition: partition, firstOffset: offset, date: String(parts[parts.count - 2].dropFirst(3)),
            format: format)
    }

    /// `YYYY-MM-DD` in UTC for a timestamp in milliseconds since the epoch.
    public static func date(milliseconds: Int64) -> String {
        // Civil-from-days (Howard Hinnant), so no Foundation calendar is needed on the hot path.
        let days = Int64((Double(milliseconds) / 86_400_000).rounded(.down))
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}
