import Foundation
import Testing

@testable import PinCore

/// The allocation-free paths (`JSONValidator`, `RawPin.parseFast`) against the full parser and
/// validator: on every real row, on generated rows, on hand-made edge cases and on thousands of
/// random corruptions of real rows, the fast answer is the slow answer.
@Suite struct FastParseTests {
    /// The reference: the JSON tree, then the field validator.
    static func slow(_ bytes: [UInt8]) -> RawPin? {
        guard let value = try? JSONParser.parse(bytes) else { return nil }
        return try? RawPin(validating: value)
    }

    static func fast(_ bytes: [UInt8]) -> RawPin? {
        bytes.withUnsafeBufferPointer { RawPin.parseFast($0) }
    }

    static func realLines(_ name: String) throws -> [[UInt8]] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "jsonl", subdirectory: "Fixtures"))
        return try Data(contentsOf: url).split(separator: 0x0A).map { Array($0) }
    }

    /// 20,000 real rows, each with one to three random bytes replaced, removed or inserted (bytes
    /// from `alphabet`), the same ones for the same seed.
    static func forEachCorruptedRealLine(seed: UInt64, alphabet: [UInt8], _ body: ([UInt8]) -> Void) throws {
        let lines = try realLines("pins")
        var random = SeededRandom(seed: seed)
        for _ in 0..<20_000 {
            var line = lines[Int(random.next() % UInt64(lines.count))]
            for _ in 0...(random.next() % 3) where !line.isEmpty {
                let position = Int(random.next() % UInt64(line.count))
                switch random.next() % 3 {
                case 0: line[position] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: line.remove(at: position)
                default: line.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: position)
                }
            }
            body(line)
        }
    }

    /// Fast and slow agree: same record, and the fast path only declines what is not a clean record.
    static func expectAgreement(
        _ bytes: [UInt8], requireFast: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let reference = slow(bytes)
        let quick = fast(bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        if let quick {
            #expect(reference == quick, "\(text)", sourceLocation: sourceLocation)
        } else if requireFast {
            Issue.record("the fast path declined a plain record: \(text)", sourceLocation: sourceLocation)
        }
        let parses = (try? JSONParser.parse(bytes)) != nil
        #expect(JSONValidator.isValid(bytes) == parses, "\(text)", sourceLocation: sourceLocation)
        // And the public entry point gives the reference answer either way.
        #expect((try? RawPin(parsing: bytes)) == reference, "\(text)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["pins", "pins-api-200"])
    func everyRealRowTakesTheFastPath(name: String) throws {
        let lines = try Self.realLines(name)
        #expect(lines.count > 100)
        for line in lines { Self.expectAgreement(line, requireFast: true) }
    }

    @Test func generatedRowsTakeTheFastPath() throws {
        let sample = try Self.realLines("pins").compactMap(Self.slow)
        var synthesizer = PinSynthesizer(sample: sample, seed: 11)
        for _ in 0..<2_000 { Self.expectAgreement(synthesizer.next().jsonBytes(), requireFast: true) }
    }

    @Test(arguments: [
        // Escapes of every kind, including surrogate pairs, in values the fast path must decode.
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"a\"b\\c\/d\b\f\n\r\t","title":"caf\u00e9 \ud83d\ude00 \u20ac"}"#,
        #"{"index":"12","unique_id":"044C3CD7-F43C-461C-A698-4080BAB12A02","category":"x","downloaded":"true"}"#,
        #"{"index":0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":"0","follower_count":-5}"#,
        #"{"index":0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":1,"follower_count":"10k"}"#,
        #" { "index" : 9223372036854775807 , "unique_id" : "044c3cd7-f43c-461c-a698-4080bab12a02" , "category" : "é" } "#,
        // Unknown members of every shape are skipped.
        #"{"extra":{"a":[1,2.5e-3,{"b":null}],"c":true},"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","more":[]}"#,
        // Repeated keys: the last one counts, as in Python.
        #"{"index":1,"index":2,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","title":"a","title":null}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","title":5,"title":"a"}"#,
        // Declined or invalid: the slow path decides.
        #"{"index":-1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":1.0,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":9223372036854775808,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":"00000000000000000000001","unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"ind\u0065x":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a0","category":"x"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":""}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","downloaded":2}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","follower_count":-9223372036854775808}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","title":"\ud83d"}"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x"} x"#,
        #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x",}"#,
        #"[1,2]"#, #""#, #"   "#, #"{"#, #"{}"#, #"01"#, #"-"#, #"1e"#, #"[[[[]]]]"#,
    ])
    func edgeCases(text: String) {
        Self.expectAgreement(Array(text.utf8))
    }

    @Test func invalidUTF8AndControlBytes() {
        let prefix = Array(
            #"{"index":1,"unique_id":"044c3cd7-f43c-461c-a698-4080bab12a02","category":"x","title":""#.utf8)
        let suffix = Array(#""}"#.utf8)
        let inserts: [[UInt8]] = [
            [0xC3, 0xA9], [0xC3], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xF0, 0x9F, 0x98, 0x80], [0xFF], [0x80], [0x01], [0x1F], [0x7F], [0x09],
        ]
        for insert in inserts {
            // Placed at each offset within an eight-byte word, so the word-at-a-time scan sees them everywhere.
            for padding in 0..<9 {
                Self.expectAgreement(prefix + Array(repeating: UInt8(ascii: "a"), count: padding) + insert + suffix)
            }
        }
    }

    @Test func randomCorruptionsOfRealRows() throws {
        let alphabet = Array(#"{}[]":,\ntrue0-1.eE"#.utf8) + [0x00, 0x80, 0xC3, 0xE2, 0xF0, 0x20, 0x5C]
        try Self.forEachCorruptedRealLine(seed: 42, alphabet: alphabet) { Self.expectAgreement($0) }
    }

    @Test func deepNestingIsRefusedLikeTheParser() {
        for depth in [511, 512, 513] {
            let text =
                Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
            #expect(JSONValidator.isValid(text) == ((try? JSONParser.parse(text)) != nil))
        }
    }

    @Test func tagsSplitOnCommasAndTrimASCIIWhitespace() {
        func split(_ text: String) -> [String] {
            var text = text
            return text.withUTF8 { PinCleaner.splitTags($0) }
        }
        #expect(split("a, b ,c") == ["a", "b", "c"])
        #expect(split(",, ,a,") == ["a"])
        #expect(split(" \t\n") == [])
        #expect(split("é, ü\u{0301} ,\u{00A0}x") == ["é", "ü\u{0301}", "\u{00A0}x"])
    }
}
