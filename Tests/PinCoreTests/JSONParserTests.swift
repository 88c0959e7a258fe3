import Foundation
import Testing

@testable import PinCore

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func scalarsAndNesting() throws {
        #expect(try parse(" null ") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse("-0.5e+3") == .number("-0.5e+3"))
        #expect(try parse("123456789012345678901234567890") == .number("123456789012345678901234567890"))
        #expect(
            try parse(#"[1,"a",[],{}]"#) == .array([.number("1"), .string("a"), .array([]), .object(JSONObject())]))
        guard case .object(let object) = try parse(#"{"a":1,"b":{"c":[true]},"a":2}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(object["a"] == .number("2"))
        #expect(object["b"] == .object(JSONObject(members: [("c", .array([.bool(true)]))])))
    }

    @Test func stringEscapes() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{8}\u{C}"))
        #expect(try parse(#""\u00e9\u65e5\ud83d\ude00""#) == .string("é日😀"))
        #expect(try parse("\"é日😀\"") == .string("é日😀"))
    }

    @Test(arguments: [
        "", "   ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "1e", "+1", "tru",
        "nulls", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "\"a\u{0}b\"", "\"tab\there\"",
        "[1] [2]", "{\"a\":1}x",
    ])
    func rejectsInvalidText(text: String) {
        #expect(throws: JSONParseError.self) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8WithItsOffset() {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        do {
            _ = try JSONParser.parse(bytes)
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect(error.message.contains("UTF-8"))
            #expect(error.offset == 6)
        }
        let escaped: [UInt8] = Array(#"{"a":"\n"#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(escaped) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try parse(fine) }
    }

    @Test func agreesWithFoundationOnTheRealSample() throws {
        let url = try #require(Bundle.module.url(forResource: "pins", withExtension: "jsonl", subdirectory: "Fixtures"))
        let data = try Data(contentsOf: url)
        for line in data.split(separator: UInt8(ascii: "\n")) {
            let ours = JSONValueWriter.bytes(try JSONParser.parse(Array(line)))
            let theirs = try JSONSerialization.jsonObject(with: Data(line)) as! NSDictionary
            let roundTrip = try JSONSerialization.jsonObject(with: Data(ours)) as! NSDictionary
            #expect(theirs == roundTrip)
        }
    }

    @Test func quotingEscapesControlCharacters() throws {
        let text = "q\"b\\s\u{1}\u{1F}\n\té"
        let quoted = JSONText.quoted(text)
        #expect(quoted == #""q\"b\\s\u0001\u001f\n\té""#)
        #expect(try parse(quoted) == .string(text))
    }
}
