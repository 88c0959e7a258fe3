import Foundation
import Testing

@testable import PinCore

/// `RawPinEncoder` (what pin-produce publishes) against `RawPin(parsing:)` and `jsonBytes()`: the
/// same key and value bytes, or the same reason for the rejection, on every real row, on generated
/// records written in every form a client may use, on edge cases and on corrupted real rows.
@Suite struct RawPinEncoderTests {
    enum Outcome: Equatable {
        case record(key: [UInt8], value: [UInt8])
        case rejected(String)
    }

    /// The reference: the record built as a `RawPin`, then encoded.
    static func reference(_ line: [UInt8]) -> Outcome {
        do {
            let pin = try RawPin(parsing: line)
            return .record(key: Array(pin.uniqueID.utf8), value: pin.jsonBytes())
        } catch {
            return .rejected(error.description)
        }
    }

    static func encoded(_ line: [UInt8], with encoder: inout RawPinEncoder) -> Outcome {
        line.withUnsafeBufferPointer { line in
            do throws(RecordError) {
                let record = try encoder.encode(line)
                return .record(key: Array(encoder.buffer[record.key]), value: Array(encoder.buffer[record.value]))
            } catch {
                return .rejected(error.description)
            }
        }
    }

    /// One encoder serves every line of a test, as in pin-produce, so a line never sees the last one's bytes.
    static func expectSame(
        _ line: [UInt8], encoder: inout RawPinEncoder, requireFast: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let text = String(decoding: line, as: UTF8.self)
        #expect(encoded(line, with: &encoder) == reference(line), "\(text)", sourceLocation: sourceLocation)
        if requireFast, line.withUnsafeBufferPointer({ RawPin.fields(in: $0) }) == nil {
            Issue.record("the fast path declined a plain record: \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["pins", "pins-api-200"])
    func everyRealRow(name: String) throws {
        var encoder = RawPinEncoder()
        for line in try FastParseTests.realLines(name) { Self.expectSame(line, encoder: &encoder, requireFast: true) }
    }

    @Test func generatedRecordsAsPinEmulateWritesThem() throws {
        let sample = try FastParseTests.realLines("pins").compactMap(FastParseTests.slow)
        var synthesizer = PinSynthesizer(sample: sample, seed: 7)
        var encoder = RawPinEncoder()
        for _ in 0..<2_000 { Self.expectSame(synthesizer.next().jsonBytes(), encoder: &encoder, requireFast: true) }
    }

    @Test func generatedRecordsInEveryForm() throws {
        let sample = try FastParseTests.realLines("pins").compactMap(FastParseTests.slow)
        var synthesizer = PinSynthesizer(sample: sample, seed: 3)
        var random = SeededRandom(seed: 5)
        var encoder = RawPinEncoder()
        var fast = 0
        for _ in 0..<5_000 {
            let line = Self.looseJSON(Self.varied(synthesizer.next(), &random), &random)
            Self.expectSame(line, encoder: &encoder)
            if line.withUnsafeBufferPointer({ RawPin.fields(in: $0) }) != nil { fast += 1 }
        }
        // Most go the fast path (the rest have an escaped unique_id).
        #expect(fast > 4_000)
    }

    @Test(arguments: [
        // Escapes of every kind; characters JSON text must escape, and ones it need not.
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"a\"b\\c\/d\b\f\n\r\t","title":"caf\u00e9 \ud83d\ude00 \u20ac"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"\u0000\u0001\u001f\u007f\u2028\u0022\u005c","tag_list":"\u0041"}"#,
        #"{"index":"12","unique_id":"044C3CD7-F43C-461C-A698-4080BAB12A02","category":"x","downloaded":"true"}"#,
        #"{"index":"007","unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":"false"}"#,
        #"{"index":0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":"0","follower_count":-5}"#,
        #"{"index":0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":"1","follower_count":-0}"#,
        #"{"index":0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":1,"follower_count":"10k"}"#,
        #"{"index":0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":0,"follower_count":""}"#,
        #"{"index":5,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","follower_count":-9223372036854775807}"#,
        #"{"index":5,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","follower_count":9223372036854775807}"#,
        #" { "index" : 9223372036854775807 , "unique_id" : "044c3cd7-f43c-461c-a698-4080bab12a02" , "category" : "é" } "#,
        #"{"category":"x","save_location":"","image_src":null,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","index":3}"#,
        // Unknown members are dropped; repeated keys: the last one counts.
        #"{"extra":{"a":[1,2.5e-3,{"b":null}],"c":true},"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","more":[]}"#,
        #"{"index":1,"index":2,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","title":"a","title":null}"#,
        // What only the slow path accepts: escaped keys and values it leaves to the validator.
        #"{"ind\u0065x":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":1,"unique_id":"\u0030\u00344c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","follower_count":-9223372036854775808}"#,
        #"{"index":"00000000000000000000001","unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        // Rejected: the same reasons.
        #"{"index":-1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":1.0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a0","category":""}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":2,"title":5}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","title":"\ud83d"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"} x"#,
        #"[1,2]"#, #""#, #"{"#, #"{}"#, #"01"#, #"null"#,
    ])
    func edgeCases(text: String) {
        var encoder = RawPinEncoder()
        Self.expectSame(Array(text.utf8), encoder: &encoder)
    }

    @Test func aLongLineThenShortOnes() {
        var encoder = RawPinEncoder()
        let long = String(repeating: "\\u00e9\\\"", count: 20_000)
        for title in ["a", long, "b", "", long + "x", "c"] {
            let line =
                #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","title":""#
                + title + #""}"#
            Self.expectSame(Array(line.utf8), encoder: &encoder)
        }
    }

    @Test func corruptedRealRows() throws {
        var encoder = RawPinEncoder()
        let alphabet = Array(#"{}[]":,\ntrue0-1.eE"#.utf8) + [0x00, 0x80, 0xC3, 0xE2, 0xF0, 0x20, 0x5C]
        try FastParseTests.forEachCorruptedRealLine(seed: 42, alphabet: alphabet) {
            Self.expectSame($0, encoder: &encoder)
        }
        // Corruptions that make escapes and numbers rather than break the JSON.
        try FastParseTests.forEachCorruptedRealLine(seed: 43, alphabet: Array(#"\\u0123456789abcdef"-"#.utf8)) {
            Self.expectSame($0, encoder: &encoder)
        }
    }

    // MARK: - Generated records in loose forms

    /// The record with its values swapped, at random, for other forms and awkward characters.
    static func varied(_ pin: RawPin, _ random: inout SeededRandom) -> RawPin {
        var pin = pin
        func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        let awkward = ["\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{2028}", " "]
        func sprinkle(_ text: String?) -> String? {
            guard var text, chance(30) else { return chance(10) ? nil : text }
            for _ in 0...(random.next() % 3) {
                let character = awkward[Int(random.next() % UInt64(awkward.count))]
                let offset = text.isEmpty ? 0 : Int(random.next() % UInt64(text.count))
                text.insert(contentsOf: character, at: text.index(text.startIndex, offsetBy: offset))
            }
            return text
        }
        pin.title = sprinkle(pin.title)
        pin.description = sprinkle(pin.description)
        pin.posterName = sprinkle(pin.posterName)
        pin.tagList = sprinkle(pin.tagList)
        pin.isImageOrVideo = sprinkle(pin.isImageOrVideo)
        pin.imageSrc = sprinkle(pin.imageSrc)
        pin.saveLocation = sprinkle(pin.saveLocation)
        pin.category = sprinkle(pin.category) ?? pin.category
        if chance(20) { pin.category = "x" + pin.category }
        switch random.next() % 5 {
        case 0: pin.followerCount = nil
        case 1: pin.followerCount = .number(Int64(bitPattern: random.next() >> (random.next() % 64)))
        case 2: pin.followerCount = .number(-Int64(random.next() % 1_000_000))
        default: pin.followerCount = pin.followerCount.map { .text(sprinkle($0.text) ?? "") }
        }
        pin.downloaded =
            [nil, .integer(false), .integer(true), .boolean(false), .boolean(true)][
                Int(random.next() % 5)]
        if chance(20) { pin.index = Int64(random.next() >> 1) }
        return pin
    }

    /// JSON for `pin` as a client might write it: members in any order, spaces around the
    /// separators, absent or null optional fields, the index as a string, numbers or strings
    /// for `downloaded`, and characters escaped by choice (`\/`, `\u00e9`, surrogate pairs).
    static func looseJSON(_ pin: RawPin, _ random: inout SeededRandom) -> [UInt8] {
        func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        func hex(_ unit: UInt16) -> String {
            let digits = String(unit, radix: 16, uppercase: chance(50))
            return String(repeating: "0", count: 4 - digits.count) + digits
        }
        func string(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += chance(50) ? "\\\"" : "\\u0022"
                case "\\": out += "\\\\"
                case "/" where chance(50): out += "\\/"
                case "\n": out += chance(50) ? "\\n" : "\\u000a"
                case "\u{0}"..."\u{1F}": out += "\\u" + hex(UInt16(scalar.value))
                default:
                    guard chance(10) || (scalar.value > 0x7F && chance(40)) else {
                        out.unicodeScalars.append(scalar)
                        continue
                    }
                    for unit in String(scalar).utf16 { out += "\\u" + hex(unit) }
                }
            }
            return out + "\""
        }
        func optional(_ name: String, _ text: String?) -> String? {
            guard let text else { return chance(50) ? nil : "\"\(name)\":null" }
            return "\"\(name)\":" + string(text)
        }
        var members: [String?] = [
            "\"index\":" + (chance(20) ? "\"\(pin.index)\"" : "\(pin.index)"),
            // An escaped unique_id is left to the slow path, so only now and then.
            "\"unique_id\":"
                + (chance(5) ? string(pin.uniqueID) : "\"\(chance(20) ? pin.uniqueID.uppercased() : pin.uniqueID)\""),
            optional("title", pin.title), optional("description", pin.description),
            optional("poster_name", pin.posterName), optional("tag_list", pin.tagList),
            optional("is_image_or_video", pin.isImageOrVideo), optional("image_src", pin.imageSrc),
            optional("save_location", pin.saveLocation), "\"category\":" + string(pin.category),
        ]
        switch pin.followerCount {
        case .text(let text): members.append("\"follower_count\":" + string(text))
        case .number(let number): members.append("\"follower_count\":\(number)")
        case nil: members.append(chance(50) ? nil : "\"follower_count\":null")
        }
        switch pin.downloaded {
        case .integer(let flag):
            members.append("\"downloaded\":" + (chance(50) ? "\(flag ? 1 : 0)" : "\"\(flag ? 1 : 0)\""))
        case .boolean(let flag): members.append("\"downloaded\":" + (chance(50) ? "\(flag)" : "\"\(flag)\""))
        case nil: members.append(chance(50) ? nil : "\"downloaded\":null")
        }
        if chance(20) { members.append("\"extra\":[1,{\"a\":\"b\"},null]") }
        var present = members.compactMap { $0 }
        if chance(50) { present.shuffle(using: &random) }
        let separator = chance(50) ? ", " : ","
        var text = "{" + present.joined(separator: separator) + "}"
        if chance(30) { text = text.replacingOccurrences(of: "\":", with: "\" : ") }
        return Array(text.utf8)
    }
}

extension RawPin.FollowerCount {
    fileprivate var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}
