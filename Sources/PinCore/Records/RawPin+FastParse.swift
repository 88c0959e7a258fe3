#if canImport(Glibc)
    import Glibc
#endif

extension RawPin {
    /// Reads a well-formed, valid record straight from its bytes, with no intermediate JSON tree.
    ///
    /// This is the hot path of every tool that reads records. It returns nil for anything it is
    /// not sure about (a bad field, an escaped key, a number where a string belongs): the caller
    /// then goes through `JSONParser` and the field validator, which explain what is wrong. So for
    /// any input, the fast and the slow path agree; the fast one is simply not asked to explain.
    static func parseFast(_ bytes: UnsafeBufferPointer<UInt8>) -> RawPin? {
        guard bytes.baseAddress != nil else { return nil }
        var reader = FastRecordReader(scanner: JSONScanner(bytes), materialize: true)
        return reader.read()
    }

    /// When `bytes` are a valid record, the bytes of its `unique_id`, found without building the
    /// record; nil when the answer needs `RawPin(parsing:)` (which may still accept the record).
    /// For a first pass that only needs to know which records are valid and what their ids are.
    public static func validatedUniqueID(in bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard bytes.baseAddress != nil else { return nil }
        var reader = FastRecordReader(scanner: JSONScanner(bytes), materialize: false)
        guard reader.check(), let range = reader.uniqueIDRange else { return nil }
        return UnsafeBufferPointer(rebasing: bytes[range])
    }

    /// When `bytes` are a valid record, where its fields are, without building any string; nil when
    /// the answer needs `RawPin(parsing:)` (which may still accept the record). Accepts exactly the
    /// records `parseFast` accepts, so the two give the same values.
    public static func fields(in bytes: UnsafeBufferPointer<UInt8>) -> Fields? {
        guard bytes.baseAddress != nil else { return nil }
        var reader = FastRecordReader(scanner: JSONScanner(bytes), materialize: false)
        guard reader.check(), let index = reader.index, let uniqueID = reader.uniqueIDRange,
            let category = reader.tokens.category
        else { return nil }
        let tokens = reader.tokens
        let followerCount: Fields.FollowerCount? =
            switch reader.followerCount {
            case nil: nil
            case .number(let number): .number(number)
            case .text: tokens.followerCount.map { .text($0) }
            }
        return Fields(
            index: index, uniqueID: uniqueID, category: category, title: tokens.title,
            description: tokens.description, posterName: tokens.posterName, followerCount: followerCount,
            tagList: tokens.tagList, isImageOrVideo: tokens.isImageOrVideo, imageSrc: tokens.imageSrc,
            downloaded: reader.downloaded?.value, saveLocation: tokens.saveLocation)
    }

    /// A valid record's fields as places in its JSON text: what `RawPin` holds, minus the strings.
    public struct Fields: Sendable {
        /// A JSON string's contents (between the quotes), and whether they hold escapes to resolve.
        public struct Text: Sendable {
            public var range: Range<Int>
            public var hasEscapes: Bool
        }

        public enum FollowerCount: Sendable {
            case text(Text)
            case number(Int64)
        }

        public var index: Int64
        /// A UUID: never escaped.
        public var uniqueID: Range<Int>
        public var category: Text
        public var title: Text?
        public var description: Text?
        public var posterName: Text?
        public var followerCount: FollowerCount?
        public var tagList: Text?
        public var isImageOrVideo: Text?
        public var imageSrc: Text?
        public var downloaded: Bool?
        public var saveLocation: Text?
    }
}

/// The string fields' places in the text, noted when the reader does not build strings.
private struct FieldTokens {
    var category: RawPin.Fields.Text?
    var title: RawPin.Fields.Text?
    var description: RawPin.Fields.Text?
    var posterName: RawPin.Fields.Text?
    var followerCount: RawPin.Fields.Text?
    var tagList: RawPin.Fields.Text?
    var isImageOrVideo: RawPin.Fields.Text?
    var imageSrc: RawPin.Fields.Text?
    var saveLocation: RawPin.Fields.Text?
}

private struct FastRecordReader {
    var scanner: JSONScanner
    /// False to check the record without building its strings: `check()` rather than `read()`, and
    /// the string fields stay nil (their places are in `tokens` and `uniqueIDRange`).
    let materialize: Bool
    var scratch: [UInt8] = []
    var uniqueIDRange: Range<Int>?
    var tokens = FieldTokens()

    var index: Int64?
    var uniqueID: String?
    var category: String?
    var title: String?
    var description: String?
    var posterName: String?
    var followerCount: RawPin.FollowerCount?
    var tagList: String?
    var isImageOrVideo: String?
    var imageSrc: String?
    var downloaded: RawPin.Downloaded?
    var saveLocation: String?

    private var bytes: UnsafeBufferPointer<UInt8> { scanner.bytes }

    mutating func read() -> RawPin? {
        guard readObject(), let index, let uniqueID, let category else { return nil }
        return RawPin(
            index: index, uniqueID: uniqueID, category: category, title: title, description: description,
            posterName: posterName, followerCount: followerCount, tagList: tagList, isImageOrVideo: isImageOrVideo,
            imageSrc: imageSrc, downloaded: downloaded, saveLocation: saveLocation)
    }

    /// Whether the bytes are a valid record, without building it (`materialize` false): the same
    /// answer as `read() != nil`, with no string made or released.
    mutating func check() -> Bool {
        readObject() && index != nil && uniqueIDRange != nil && tokens.category != nil
    }

    /// Reads the object's members, up to the end of the bytes; false to give up.
    private mutating func readObject() -> Bool {
        guard scanner.consume(UInt8(ascii: "{")) else { return false }
        if !scanner.consume(UInt8(ascii: "}")) {
            while true {
                scanner.skipWhitespace()
                guard scanner.current == UInt8(ascii: "\""), let key = scanner.scanString(), !key.hasEscapes,
                    scanner.consume(UInt8(ascii: ":"))
                else { return false }
                scanner.skipWhitespace()
                guard readMember(key.range) else { return false }
                if scanner.consume(UInt8(ascii: ",")) { continue }
                guard scanner.consume(UInt8(ascii: "}")) else { return false }
                break
            }
        }
        scanner.skipWhitespace()
        return scanner.atEnd
    }

    /// Reads the value of the member whose key is at `key`; false to give up.
    private mutating func readMember(_ key: Range<Int>) -> Bool {
        switch Field(key: UnsafeBufferPointer(rebasing: bytes[key])) {
        case .index:
            guard let value = readIndex() else { return false }
            index = value
        case .uniqueID:
            guard let token = stringToken(), !token.hasEscapes,
                FieldValidator.isUUID(UnsafeBufferPointer(rebasing: bytes[token.range]))
            else { return false }
            if materialize { uniqueID = string(token) }
            uniqueIDRange = token.range
        case .category:
            guard let token = stringToken(), !token.range.isEmpty else { return false }
            if materialize { category = string(token) }
            tokens.category = text(token)
        case .title:
            guard let value = optionalString() else { return false }
            if materialize { title = value.0 }
            tokens.title = value.1
        case .description:
            guard let value = optionalString() else { return false }
            if materialize { description = value.0 }
            tokens.description = value.1
        case .posterName:
            guard let value = optionalString() else { return false }
            if materialize { posterName = value.0 }
            tokens.posterName = value.1
        case .tagList:
            guard let value = optionalString() else { return false }
            if materialize { tagList = value.0 }
            tokens.tagList = value.1
        case .isImageOrVideo:
            guard let value = optionalString() else { return false }
            if materialize { isImageOrVideo = value.0 }
            tokens.isImageOrVideo = value.1
        case .imageSrc:
            guard let value = optionalString() else { return false }
            if materialize { imageSrc = value.0 }
            tokens.imageSrc = value.1
        case .saveLocation:
            guard let value = optionalString() else { return false }
            if materialize { saveLocation = value.0 }
            tokens.saveLocation = value.1
        case .followerCount: return readFollowerCount()
        case .downloaded: return readDownloaded()
        case nil: return scanner.skipValue()
        }
        return true
    }

    private mutating func stringToken() -> JSONScanner.StringToken? {
        guard scanner.current == UInt8(ascii: "\"") else { return nil }
        return scanner.scanString()
    }

    /// The text of a scanned string.
    private mutating func string(_ token: JSONScanner.StringToken) -> String {
        guard materialize else { return "" }
        let raw = UnsafeBufferPointer(rebasing: bytes[token.range])
        guard token.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        scratch.removeAll(keepingCapacity: true)
        JSONScanner.unescape(raw, into: &scratch)
        return String(decoding: scratch, as: UTF8.self)
    }

    /// A string or null, and where it is; nil to give up.
    private mutating func optionalString() -> (String?, RawPin.Fields.Text?)? {
        if scanner.current == UInt8(ascii: "n") {
            guard scanner.skipLiteral("null") else { return nil }
            return (nil, nil)
        }
        guard let token = stringToken() else { return nil }
        return (materialize ? string(token) : nil, text(token))
    }

    private func text(_ token: JSONScanner.StringToken) -> RawPin.Fields.Text {
        RawPin.Fields.Text(range: token.range, hasEscapes: token.hasEscapes)
    }

    /// `index`: a non-negative JSON integer, or a string of digits, within Int64.
    private mutating func readIndex() -> Int64? {
        if scanner.current == UInt8(ascii: "\"") {
            guard let token = scanner.scanString(), !token.hasEscapes, !token.range.isEmpty else { return nil }
            return Self.decimal(UnsafeBufferPointer(rebasing: bytes[token.range]))
        }
        guard let token = scanner.scanNumber(), token.isInteger, bytes[token.range.lowerBound] != UInt8(ascii: "-")
        else { return nil }
        return Self.decimal(UnsafeBufferPointer(rebasing: bytes[token.range]))
    }

    private mutating func readFollowerCount() -> Bool {
        switch scanner.current {
        case UInt8(ascii: "n"):
            guard scanner.skipLiteral("null") else { return false }
            followerCount = nil
        case UInt8(ascii: "\""):
            guard let token = scanner.scanString() else { return false }
            followerCount = .text(materialize ? string(token) : "")
            tokens.followerCount = text(token)
        default:
            guard let token = scanner.scanNumber(), token.isInteger else { return false }
            var digits = UnsafeBufferPointer(rebasing: bytes[token.range])
            let negative = digits.first == UInt8(ascii: "-")
            if negative { digits = UnsafeBufferPointer(rebasing: digits.dropFirst()) }
            // Int64.min has no positive twin: leave that edge to the slow path.
            guard let magnitude = Self.decimal(digits) else { return false }
            followerCount = .number(negative ? -magnitude : magnitude)
        }
        return true
    }

    private mutating func readDownloaded() -> Bool {
        switch scanner.current {
        case UInt8(ascii: "n"):
            guard scanner.skipLiteral("null") else { return false }
            downloaded = nil
        case UInt8(ascii: "t"):
            guard scanner.skipLiteral("true") else { return false }
            downloaded = .boolean(true)
        case UInt8(ascii: "f"):
            guard scanner.skipLiteral("false") else { return false }
            downloaded = .boolean(false)
        case UInt8(ascii: "\""):
            guard let token = scanner.scanString(), !token.hasEscapes else { return false }
            let text = UnsafeBufferPointer(rebasing: bytes[token.range])
            if text.elementsEqual("0".utf8) {
                downloaded = .integer(false)
            } else if text.elementsEqual("1".utf8) {
                downloaded = .integer(true)
            } else if text.elementsEqual("true".utf8) {
                downloaded = .boolean(true)
            } else if text.elementsEqual("false".utf8) {
                downloaded = .boolean(false)
            } else {
                return false
            }
        default:
            guard let token = scanner.scanNumber(), token.range.count == 1 else { return false }
            switch bytes[token.range.lowerBound] {
            case UInt8(ascii: "0"): downloaded = .integer(false)
            case UInt8(ascii: "1"): downloaded = .integer(true)
            default: return false
            }
        }
        return true
    }

    /// Unsigned decimal digits within Int64; nil for anything else.
    static func decimal(_ digits: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: Int64 = 0
        for digit in digits {
            guard JSONScanner.isDigit(digit) else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit &- UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// The fields of SPEC 1.1, matched on the key's raw bytes.
    private enum Field {
        case index, uniqueID, title, description, posterName, followerCount, tagList, isImageOrVideo, imageSrc
        case downloaded, saveLocation, category

        init?(key: UnsafeBufferPointer<UInt8>) {
            func equals(_ name: StaticString) -> Bool {
                memcmp(name.utf8Start, key.baseAddress!, key.count) == 0
            }
            switch key.count {
            case 5:
                if equals("index") { self = .index } else if equals("title") { self = .title } else { return nil }
            case 8:
                if equals("tag_list") {
                    self = .tagList
                } else if equals("category") {
                    self = .category
                } else {
                    return nil
                }
            case 9:
                if equals("unique_id") {
                    self = .uniqueID
                } else if equals("image_src") {
                    self = .imageSrc
                } else {
                    return nil
                }
            case 10:
                if equals("downloaded") { self = .downloaded } else { return nil }
            case 11:
                if equals("description") {
                    self = .description
                } else if equals("poster_name") {
                    self = .posterName
                } else {
                    return nil
                }
            case 13:
                if equals("save_location") { self = .saveLocation } else { return nil }
            case 14:
                if equals("follower_count") { self = .followerCount } else { return nil }
            case 17:
                if equals("is_image_or_video") { self = .isImageOrVideo } else { return nil }
            default:
                return nil
            }
        }
    }
}
