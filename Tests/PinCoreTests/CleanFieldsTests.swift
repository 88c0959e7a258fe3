import Foundation
import Testing

@testable import PinCore

/// Cleaning straight from a record's bytes (`RawPin.fields` then `PinCleaner.clean(_:of:into:)`)
/// against the usual path (`RawPin`, then `PinCleaner.clean`, then `CleanRows.append`): the same
/// packed row and the same rule counts, on real, generated, hand-made and corrupted rows.
@Suite struct CleanFieldsTests {
    static func expectSameCleaning(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let text = String(decoding: bytes, as: UTF8.self)
        let fields = bytes.withUnsafeBufferPointer { RawPin.fields(in: $0) }
        let pin = bytes.withUnsafeBufferPointer { RawPin.parseFast($0) }
        #expect((fields == nil) == (pin == nil), "\(text)", sourceLocation: sourceLocation)
        guard let fields, let pin else { return }
        var usual = PinCleaner()
        var expected = CleanRows()
        expected.append(usual.clean(pin))
        var direct = PinCleaner()
        var actual = CleanRows()
        bytes.withUnsafeBufferPointer { direct.clean(fields, of: $0, into: &actual) }
        #expect(actual.bytes == expected.bytes, "\(text)", sourceLocation: sourceLocation)
        #expect(actual.count == 1)
        #expect(direct.counts == usual.counts, "\(text)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["pins", "pins-api-200"])
    func realRows(name: String) throws {
        for line in try FastParseTests.realLines(name) { Self.expectSameCleaning(line) }
    }

    @Test func generatedRows() throws {
        let sample = try FastParseTests.realLines("pins").compactMap(FastParseTests.slow)
        var synthesizer = PinSynthesizer(sample: sample, seed: 5)
        for _ in 0..<2_000 { Self.expectSameCleaning(synthesizer.next().jsonBytes()) }
    }

    static let id = "044c3cd7-f43c-461c-a698-4080bab12a02"

    @Test(arguments: [
        // Placeholders written with escapes are still placeholders.
        #""title":"No Title Data Av\u0061ilable","description":"Untitle\u0064","poster_name":"User Info Error""#,
        #""title":"","description":"","poster_name":"","image_src":"","tag_list":"","follower_count":"""#,
        #""image_src":"Image src error.","tag_list":"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e","follower_count":"User Info Error""#,
        #""image_src":"Image src error. ","tag_list":"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,\u0065","description":"untitled""#,
        // Tags: escapes, whitespace, empty items, non-ASCII.
        #""tag_list":"a,\tb\n, ,\u00e9t\u00e9,,x\"y\\z,  ""#,
        #""tag_list":" , ,""#,
        // Follower counts of every kind, some escaped.
        #""follower_count":"1\u002e5k""#, #""follower_count":"1.2345k""#, #""follower_count":"9999999999B""#,
        #""follower_count":"12""#, #""follower_count":"1.k""#, #""follower_count":"k""#, #""follower_count":7"#,
        #""follower_count":-3"#, #""follower_count":null"#, #""follower_count":"0.0005M""#,
        // Save locations: the prefix, the prefix alone, escaped, and followed by a combining accent.
        #""save_location":"Local save in /data/finance""#, #""save_location":"Local save in ""#,
        #""save_location":"Local save in""#, #""save_location":"Local\u0020save in /x""#,
        #""save_location":"Local save in \u0301/data""#, #""save_location":"Local save in \u00e9/data""#,
        #""save_location":"Local save in é""#, #""save_location":"local save in /x""#,
        // Nulls and absent fields, downloaded in every form.
        #""title":null,"description":null,"tag_list":null,"save_location":null,"downloaded":null"#,
        #""downloaded":"true","is_image_or_video":"im\u0061ge""#, #""downloaded":false"#, #""downloaded":"0""#,
        // Repeated keys: the last one counts.
        #""title":"a","title":"No Title Data Available","follower_count":"10k","follower_count":5"#,
        #""follower_count":5,"follower_count":"2M","tag_list":"a","tag_list":null"#,
    ])
    func edgeCases(members: String) {
        let text = #"{"index":3,"unique_id":"\#(Self.id)","category":"c\u00e4t","# + members + "}"
        Self.expectSameCleaning(Array(text.utf8))
    }

    @Test func randomCorruptionsOfRealRows() throws {
        let alphabet = Array(#"{}[]":,\ntrue0-1.eEkMB "#.utf8) + [0x00, 0x80, 0xC3, 0xA9, 0xCC, 0x81, 0x5C, 0x09]
        try FastParseTests.forEachCorruptedRealLine(seed: 7, alphabet: alphabet) { Self.expectSameCleaning($0) }
    }

    @Test func packedRowsReadBack() {
        var rows = CleanRows()
        let pin = CleanPin(
            ind: 7, uniqueID: Self.id, title: "t", description: nil, followerCount: 12, posterName: "p",
            tagList: ["a", "bc"], isImageOrVideo: nil, imageSrc: "i", saveLocation: "/s", category: "c",
            downloaded: false)
        rows.append(pin)
        rows.append(CleanPin(ind: 8, uniqueID: Self.id, tagList: [], category: "d"))
        #expect(rows.count == 2)
        rows.bytes.withUnsafeBytes { bytes in
            var reader = CleanRows.Reader(bytes, at: rows.start(of: 1))
            #expect(reader.integer() == 8)
            #expect(reader.string().map { Array($0) } == Array(Self.id.utf8))
            #expect(reader.string() == nil)
            #expect(reader.string() == nil)
            #expect(reader.integer() == nil)
            #expect(reader.string() == nil)
            #expect(reader.list()?.count == 0)
            for _ in 0..<3 { #expect(reader.string() == nil) }
            #expect(reader.string().map { Array($0) } == Array("d".utf8))
            #expect(reader.bool() == nil)
            #expect(reader.atEnd)
        }
    }
}
