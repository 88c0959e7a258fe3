import Testing

@testable import PinCore

private let valid =
    #"{"index": 4, "unique_id": "55abcd28-bda1-4453-bbcd-1427fb3aa49b", "title": "T", "description": "D", "poster_name": "P", "follower_count": "2M", "tag_list": "a,b", "is_image_or_video": "image", "image_src": "https://x/y.jpg", "downloaded": 1, "save_location": "Local save in /data/art", "category": "art"}"#

/// `valid` with one field replaced by raw JSON text, or removed when `json` is nil.
private func with(_ field: String, _ json: String?) -> String {
    guard case .object(var object) = try! JSONParser.parse(Array(valid.utf8)) else { fatalError() }
    object.members.removeAll { $0.key == field }
    var text = "{"
    for member in object.members {
        let value = String(decoding: JSONValueWriter.bytes(member.value), as: UTF8.self)
        text += "\(JSONText.quoted(member.key)):\(value),"
    }
    if let json { text += "\(JSONText.quoted(field)):\(json)," }
    text.removeLast()
    return text + "}"
}

private func errors(_ text: String) -> [FieldError] {
    do {
        _ = try RawPin(parsing: Array(text.utf8))
        return []
    } catch {
        return error.fields
    }
}

private func parses(_ text: String) throws -> RawPin {
    try RawPin(parsing: Array(text.utf8))
}

@Suite struct RawPinValidation {
    @Test func aValidRecordParsesEveryField() throws {
        let pin = try parses(valid)
        #expect(pin.index == 4)
        #expect(pin.uniqueID == "55abcd28-bda1-4453-bbcd-1427fb3aa49b")
        #expect(pin.posterName == "P")
        #expect(pin.followerCount == .text("2M"))
        #expect(pin.downloaded == .integer(true))
        #expect(pin.saveLocation == "Local save in /data/art")
        #expect(pin.category == "art")
    }

    @Test func unknownFieldsAreDroppedAndOptionalFieldsMayBeAbsentOrNull() throws {
        let pin = try parses(
            #"{"index":1,"unique_id":"55ABCD28-BDA1-4453-BBCD-1427FB3AA49B","category":"c","extra":[1,{"a":2}],"title":null}"#
        )
        #expect(pin.title == nil)
        #expect(pin.posterName == nil)
        #expect(pin.downloaded == nil)
        let json = String(decoding: pin.jsonBytes(), as: UTF8.self)
        #expect(!json.contains("extra"))
        #expect(json.contains(#""poster_name":null"#))
    }

    @Test(
        arguments: [
            (#""12""#, 12), ("0", 0), ("9223372036854775807", Int64.max),
            // JSON numbers are values: an integral one is an integer whatever its spelling.
            ("1.0", 1), ("1e2", 100), ("1E+2", 100), ("-0", 0), ("-0.0", 0), ("100e-2", 1), ("0e99", 0),
            ("9.223372036854775807e18", Int64.max),
        ] as [(String, Int64)])
    func indexCoercions(json: String, expected: Int64) throws {
        #expect(try parses(with("index", json)).index == expected)
    }

    @Test(
        arguments: [
            (nil, "missing"), ("null", "int_type"), ("true", "int_type"), (#""12a""#, "int_parsing"),
            (#""""#, "int_parsing"), (#"" 12""#, "int_parsing"), ("-1", "greater_than_equal"),
            ("1.5", "int_from_float"), ("9223372036854775808", "int_parsing_size"),
            (#""99999999999999999999""#, "int_parsing_size"), ("[1]", "int_type"),
            ("1e400", "int_parsing_size"), ("9.223372036854775808e18", "int_parsing_size"), ("0.5", "int_from_float"),
            ("1.05e1", "int_from_float"), ("1e-400", "int_from_float"), ("-1e30", "greater_than_equal"),
            ("-2.0", "greater_than_equal"),
        ] as [(String?, String)])
    func badIndex(json: String?, type: String) {
        let found = errors(with("index", json))
        #expect(found.map(\.type) == [type])
        #expect(found.first?.location == ["index"])
    }

    @Test(
        arguments: [
            (nil, "missing"), (#""not-a-uuid""#, "uuid_parsing"), ("12", "string_type"),
            (#""55abcd28bda14453bbcd1427fb3aa49b""#, "uuid_parsing"),
            (#""55abcd28-bda1-4453-bbcd-1427fb3aa49g""#, "uuid_parsing"),
            (#""{55abcd28-bda1-4453-bbcd-1427fb3aa49b}""#, "uuid_parsing"),
        ] as [(String?, String)])
    func badUniqueID(json: String?, type: String) {
        #expect(errors(with("unique_id", json)).map(\.type) == [type])
    }

    @Test func categoryIsRequiredAndNonEmpty() {
        #expect(errors(with("category", nil)).map(\.type) == ["missing"])
        #expect(errors(with("category", #""""#)).map(\.type) == ["string_too_short"])
        #expect(errors(with("category", "null")).map(\.type) == ["string_type"])
    }

    @Test(arguments: [
        "title", "description", "poster_name", "tag_list", "is_image_or_video", "image_src", "save_location",
    ])
    func optionalStringsRefuseNumbersAndBooleans(field: String) throws {
        #expect(errors(with(field, "5")).map(\.type) == ["string_type"])
        #expect(errors(with(field, "false")).map(\.type) == ["string_type"])
        #expect(errors(with(field, "[]")).map(\.type) == ["string_type"])
        #expect(errors(with(field, "null")).isEmpty)
        #expect(errors(with(field, nil)).isEmpty)
        #expect(errors(with(field, #""""#)).isEmpty)
    }

    @Test func followerCountTakesStringsAndIntegers() throws {
        #expect(try parses(with("follower_count", "305")).followerCount == .number(305))
        #expect(try parses(with("follower_count", #""User Info Error""#)).followerCount == .text("User Info Error"))
        #expect(try parses(with("follower_count", "null")).followerCount == nil)
        #expect(errors(with("follower_count", "1.5")).map(\.type) == ["int_from_float"])
        #expect(try parses(with("follower_count", "1.0")).followerCount == .number(1))
        #expect(try parses(with("follower_count", "-2e1")).followerCount == .number(-20))
        #expect(errors(with("follower_count", "1e30")).map(\.type) == ["int_parsing_size"])
        #expect(errors(with("follower_count", "true")).map(\.type) == ["string_type"])
    }

    @Test(
        arguments: [
            ("0", RawPin.Downloaded.integer(false)), ("1", .integer(true)), (#""0""#, .integer(false)),
            (#""1""#, .integer(true)), ("true", .boolean(true)), ("false", .boolean(false)),
            (#""true""#, .boolean(true)), (#""false""#, .boolean(false)),
            ("1.0", .integer(true)), ("0e0", .integer(false)), ("-0", .integer(false)),
        ] as [(String, RawPin.Downloaded)])
    func downloadedForms(json: String, expected: RawPin.Downloaded) throws {
        #expect(try parses(with("downloaded", json)).downloaded == expected)
    }

    @Test func anIntegralNumberIsPublishedAsAnInteger() throws {
        let json = String(decoding: try parses(with("index", "1e2")).jsonBytes(), as: UTF8.self)
        #expect(json.hasPrefix(#"{"index":100,"#))
    }

    @Test func badDownloaded() {
        #expect(errors(with("downloaded", "2")).map(\.type) == ["bool_parsing"])
        #expect(errors(with("downloaded", "0.5")).map(\.type) == ["bool_parsing"])
        #expect(errors(with("downloaded", #""yes""#)).map(\.type) == ["bool_parsing"])
        #expect(errors(with("downloaded", "[]")).map(\.type) == ["bool_type"])
    }

    @Test func everyBadFieldIsReported() {
        let found = errors(#"{"index":"x","title":3,"downloaded":"maybe"}"#)
        #expect(found.map { $0.location.first ?? "" } == ["index", "unique_id", "title", "downloaded", "category"])
        let message = RecordError(kind: .invalid, fields: found).description
        #expect(message.contains("index: Input should be a valid integer"))
    }

    @Test func malformedAndNonObjectInput() {
        for text in ["", "{", "{\"index\":1,}", "[1,2]", "nul", "{\"a\":\"\u{1}\"}"] {
            do throws(RecordError) {
                _ = try RawPin(parsing: Array(text.utf8))
                Issue.record("accepted \(text)")
            } catch {
                #expect(!error.fields.isEmpty)
                if text == "[1,2]" {
                    #expect(error.kind == .invalid)
                    #expect(error.fields.first?.type == "model_attributes_type")
                } else {
                    #expect(error.kind == .malformed)
                }
            }
        }
    }

    @Test func publishedJSONRoundTrips() throws {
        let pin = try parses(valid)
        let json = pin.jsonBytes()
        #expect(try RawPin(parsing: json) == pin)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.hasPrefix(#"{"index":4,"unique_id":"55abcd28-bda1-4453-bbcd-1427fb3aa49b","title":"T","#))
        #expect(text.contains(#""downloaded":1,"#))
        #expect(!text.contains(", \"") && !text.contains("\": "))
        let booleans = try parses(with("downloaded", #""true""#))
        #expect(String(decoding: booleans.jsonBytes(), as: UTF8.self).contains(#""downloaded":true"#))
    }
}
