import PinCompression

/// One raw input object of a date and, when its name follows pin-consume-s3's pattern
/// (`<topic>+<partition>+<20-digit first offset>.jsonl…`), where its records sit in Kafka.
struct SourceObject: Sendable, Equatable {
    enum Shape: Sendable, Equatable {
        /// NDJSON, one record a line, possibly gzip- or zstd-compressed as a whole.
        case lines(StreamFormat)
        /// A `.json` file holding one record (it may span several lines).
        case singleRecord
    }

    var key: String
    var shape: Shape
    var partition: Int?
    var firstOffset: Int64?

    /// Nil for objects that are not input: other suffixes, hidden or `_`-prefixed names.
    init?(key: String) {
        let name = key.split(separator: "/").last.map(String.init) ?? key
        guard !name.hasPrefix("."), !name.hasPrefix("_") else { return nil }
        let stem: Substring
        if name.hasSuffix(".json") {
            shape = .singleRecord
            stem = name.dropLast(".json".count)
        } else if let suffix = [".jsonl", ".jsonl.gz", ".jsonl.zst"].first(where: { name.hasSuffix($0) }) {
            shape = .lines(StreamFormat(fileName: name))
            stem = name.dropLast(suffix.count)
        } else {
            return nil
        }
        self.key = key
        let parts = stem.split(separator: "+", omittingEmptySubsequences: false)
        if parts.count >= 3,
            let offsetText = parts.last, offsetText.count == 20, offsetText.allSatisfy(\.isASCIIDigit),
            let offset = Int64(offsetText),
            case let partitionText = parts[parts.count - 2], !partitionText.isEmpty,
            partitionText.allSatisfy(\.isASCIIDigit), let partition = Int(partitionText)
        {
            self.partition = partition
            self.firstOffset = offset
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
