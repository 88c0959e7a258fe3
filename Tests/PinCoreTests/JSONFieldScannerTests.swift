import PinCore
import Testing

@Suite struct JSONFieldScannerTests {
    private func uniqueID(_ json: String) -> String? {
        JSONFieldScanner.stringValue(of: "unique_id", in: Array(json.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func findsTopLevelStringMember() {
        #expect(uniqueID(#"{"index": 1, "unique_id": "abc", "x": [1, {"y": null}]}"#) == "abc")
        #expect(uniqueID(#"  {"unique_id":"abc"}  "#) == "abc")
        #expect(uniqueID(#"{"a": -1.5e+3, "b": 0, "c": true, "d": false, "unique_id": "n"}"#) == "n")
        #expect(uniqueID(#"{"unique_id": "first", "unique_id": "last"}"#) == "last")
    }

    @Test func decodesEscapesInNamesAndValues() {
        #expect(uniqueID(#"{"unique\u005fid": "a\"b\\c\/d\u00e9\ud83d\ude00"}"#) == "a\"b\\c/dé😀")
        #expect(uniqueID(#"{"unique_id": "tab\there"}"#) == "tab\there")
    }

    @Test func ignoresNestedAndNonStringMembers() {
        #expect(uniqueID(#"{"inner": {"unique_id": "nested"}}"#) == nil)
        #expect(uniqueID(#"{"unique_id": 42}"#) == nil)
        #expect(uniqueID(#"{"unique_id": null}"#) == nil)
        #expect(uniqueID(#"["unique_id", "abc"]"#) == nil)
        #expect(uniqueID(#"{}"#) == nil)
    }

    /// Long strings are read sixteen bytes at a time: a quote, an escape or a control character
    /// must be found at every position within and across those strides.
    @Test func findsEveryStringEndWhereverItFalls() {
        for length in 0..<48 {
            let filler = String(repeating: "x", count: length)
            #expect(uniqueID(#"{"title": "\#(filler)", "unique_id": "\#(filler)k"}"#) == filler + "k")
            #expect(uniqueID(#"{"title": "\#(filler)\"q", "unique_id": "\#(filler)\\"}"#) == filler + "\\")
            #expect(uniqueID("{\"title\": \"\(filler)\u{1F}\", \"unique_id\": \"k\"}") == nil, "length \(length)")
            #expect(uniqueID(#"{"unique_id": "\#(filler)"#) == nil, "unterminated, length \(length)")
        }
    }

    @Test func rejectsMalformedJSON() {
        for text in [
            #"{"unique_id": "abc",}"#, #"{"unique_id": "abc""#, #"{"unique_id": "abc"} x"#,
            "{\"unique_id\": \"a\u{01}b\"}", #"{"unique_id": "abc", "n": 01}"#, #"{"unique_id": "abc", "n": tru}"#,
            #"{"unique_id": "a\qb"}"#, #"{"unique_id" "abc"}"#, "", "not json", #"{"unique_id": "abc", "n": -}"#,
        ] {
            #expect(uniqueID(text) == nil, "accepted: \(text)")
        }
    }
}
