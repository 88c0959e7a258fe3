/// The cleaning rules of SPEC 1.2, with a counter per rule. pin-batch and pin-stream-pg
/// both clean through this type, so the two sinks can never disagree.
public struct PinCleaner: Sendable {
    public internal(set) var counts = CleaningCounts()

    public init() {}

    public static let titlePlaceholder = "No Title Data Available"
    public static let descriptionPlaceholders = [
        "No description available Story format", "No description available", "Untitled",
    ]
    public static let userInfoError = "User Info Error"
    public static let tagListPlaceholder = "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"
    public static let imageSrcPlaceholder = "Image src error."
    public static let saveLocationPrefix = "Local save in "

    public mutating func clean(_ raw: RawPin) -> CleanPin {
        counts.records += 1
        return CleanPin(
            ind: raw.index,
            uniqueID: raw.uniqueID,
            title: nulling(raw.title, placeholders: [Self.titlePlaceholder], &counts.title),
            description: nulling(raw.description, placeholders: Self.descriptionPlaceholders, &counts.description),
            followerCount: followerCount(raw.followerCount),
            posterName: nulling(raw.posterName, placeholders: [Self.userInfoError], &counts.posterName),
            tagList: tagList(raw.tagList),
            isImageOrVideo: raw.isImageOrVideo,
            imageSrc: nulling(raw.imageSrc, placeholders: [Self.imageSrcPlaceholder], &counts.imageSrc),
            saveLocation: saveLocation(raw.saveLocation),
            category: raw.category,
            downloaded: raw.downloaded?.value
        )
    }

    /// Placeholders and `""` match exactly: case-sensitive, no trimming.
    private func nulling(_ value: String?, placeholders: [String], _ counter: inout NullingCounts) -> String? {
        guard let value else { return nil }
        if value.isEmpty {
            counter.empty += 1
            return nil
        }
        if placeholders.contains(value) {
            counter.placeholder += 1
            return nil
        }
        return value
    }

    private mutating func followerCount(_ value: RawPin.FollowerCount?) -> Int64? {
        switch value {
        case nil:
            return nil
        case .number(let number):
            guard number >= 0 else {
                counts.followerCount.unparseable += 1
                return nil
            }
            counts.followerCount.integer += 1
            return number
        case .text(let text):
            if text.isEmpty {
                counts.followerCount.empty += 1
                return nil
            }
            if text == Self.userInfoError {
                counts.followerCount.placeholder += 1
                return nil
            }
            guard let parsed = FollowerCountParser.parse(text) else {
                counts.followerCount.unparseable += 1
                return nil
            }
            if parsed.suffixed { counts.followerCount.suffixed += 1 } else { counts.followerCount.digits += 1 }
            return parsed.value
        }
    }

    private mutating func tagList(_ value: String?) -> [String]? {
        guard let value else { return nil }
        if value.isEmpty {
            counts.tagList.empty += 1
            return nil
        }
        if value == Self.tagListPlaceholder {
            counts.tagList.placeholder += 1
            return nil
        }
        counts.tagList.split += 1
        var text = value
        return text.withUTF8 { Self.splitTags($0) }
    }

    /// Comma-separated items, each trimmed of ASCII whitespace, empty ones dropped.
    static func splitTags(_ utf8: UnsafeBufferPointer<UInt8>) -> [String] {
        var tags: [String] = []
        forEachTag(utf8) { tags.append(String(decoding: $0, as: UTF8.self)) }
        return tags
    }

    /// Calls `body` with each item of a comma-separated list, trimmed of ASCII whitespace, empty ones skipped.
    @inline(__always)
    static func forEachTag(_ utf8: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        var start = 0
        while start <= utf8.count {
            let end = nextComma(utf8, from: start)
            var low = start
            var high = end
            while low < high, isSpace(utf8[low]) { low += 1 }
            while high > low, isSpace(utf8[high - 1]) { high -= 1 }
            if low < high { body(UnsafeBufferPointer(rebasing: utf8[low..<high])) }
            start = end + 1
        }
    }

    /// Where the next comma at or after `start` is (`utf8.count` if none): eight bytes at a time, as tags
    /// are mostly longer than that and a byte-by-byte search mispredicts at every comma.
    @inline(__always)
    private static func nextComma(_ utf8: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = utf8.baseAddress else { return start }
        let ones: UInt64 = 0x0101_0101_0101_0101
        var position = start
        while position + 8 <= utf8.count {
            let word =
                UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
                ^ (ones &* UInt64(UInt8(ascii: ",")))
            // The lowest high bit marks the first zero byte, i.e. the first comma.
            let zeros = (word &- ones) & ~word & (ones &* 0x80)
            if zeros != 0 { return position + zeros.trailingZeroBitCount >> 3 }
            position += 8
        }
        while position < utf8.count, base[position] != UInt8(ascii: ",") { position += 1 }
        return position
    }

    private mutating func saveLocation(_ value: String?) -> String? {
        guard let value else { return nil }
        guard value.hasPrefix(Self.saveLocationPrefix) else { return value }
        counts.saveLocationPrefixRemoved += 1
        return String(value.dropFirst(Self.saveLocationPrefix.count))
    }
}
