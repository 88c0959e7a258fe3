import PinParquet

/// Deterministic rows in the clean pin schema with every awkward case: nulls in every optional column,
/// empty and null lists, empty strings, non-ASCII text, the occasional 100 KB string.
struct SampleRows {
    /// SplitMix64, so runs are reproducible.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let categories = [
        "art", "beauty", "diy-and-crafts", "education", "event-planning", "finance", "home-decor", "quotes", "travel",
        "vehicles",
    ]
    static let words = ["pin", "Ünïcode", "日本語", "été", "naïve", "café", "🙂", "zebra", "Apple", "apple", "ß", "x"]

    static func make(count: Int, seed: UInt64 = 42, longStrings: Bool = true) -> [[ParquetValue]] {
        var random = Generator(state: seed)
        return (0..<count).map { index in row(index, &random, longStrings: longStrings) }
    }

    /// Row `index`; with `longStrings`, a 100 KB description every `longEvery` rows.
    static func row(_ index: Int, _ random: inout Generator, longStrings: Bool, longEvery: Int = 997) -> [ParquetValue]
    {
        func maybe(_ value: ParquetValue, nullOneIn: UInt64 = 5) -> ParquetValue {
            random.next() % nullOneIn == 0 ? .null : value
        }
        func text(_ maxWords: Int) -> String {
            let count = Int(random.next() % UInt64(maxWords + 1))
            return (0..<count).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ")
        }
        let uuid = String(format16(random.next())) + "-" + String(format16(random.next()))
        var description = text(30)
        if longStrings && index % longEvery == 3 {
            description = String(repeating: "long ✓ text ", count: 100_000 / 14)
        }
        let tags: ParquetValue
        switch random.next() % 6 {
        case 0: tags = .null
        case 1: tags = .stringList([])
        case 2: tags = .stringList([""])
        default: tags = .stringList((0..<Int(random.next() % 6 + 1)).map { _ in text(3) })
        }
        let follower = Int64(bitPattern: random.next() % 3 == 0 ? random.next() : random.next() % 10_000)
        return [
            .int64(Int64(index)),
            .string(uuid),
            maybe(.string(text(8))),
            maybe(.string(description)),
            maybe(.int64(index % 50 == 0 ? Int64.min + Int64(index) : follower)),
            maybe(.string("poster \(random.next() % 300)")),
            tags,
            maybe(.string(["image", "video", "multi-video(story page format)"][Int(random.next() % 3)])),
            maybe(.string(random.next() % 10 == 0 ? "" : "https://i.pinimg.com/\(random.next() % 100_000).jpg")),
            maybe(.string("/data/" + categories[index % categories.count])),
            .string(categories[Int(random.next() % UInt64(categories.count))]),
            maybe(.bool(random.next() % 2 == 0), nullOneIn: 4),
        ]
    }

    private static func format16(_ value: UInt64) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension ParquetValue {
    /// The value as JSON, as the readers print it: lists as arrays, nulls as null.
    func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .int64(let value): out += Array(String(value).utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .string(let text): Self.appendQuoted(text, to: &out)
        case .stringList(let items):
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                Self.appendQuoted(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    private static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
