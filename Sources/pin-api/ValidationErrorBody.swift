import PinCore

/// Error bodies in FastAPI's shape, so clients written for the original API keep working:
/// `{"detail":[{"type":…,"loc":["body","index"],"msg":…}]}` for 422, `{"detail":"…"}` otherwise.
enum ErrorBody {
    static func validation(_ error: RecordError, prefix: [String] = ["body"]) -> [UInt8] {
        var out = Array(#"{"detail":"#.utf8)
        appendDetail(error, prefix: prefix, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func appendDetail(_ error: RecordError, prefix: [String] = ["body"], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (position, field) in error.fields.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"type":"#.utf8)
            JSONText.appendQuoted(field.type, to: &out)
            out.append(contentsOf: #","loc":["#.utf8)
            for (index, part) in (prefix + field.location).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(part, to: &out)
            }
            out.append(contentsOf: #"],"msg":"#.utf8)
            JSONText.appendQuoted(field.message, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }

    static func message(_ text: String) -> [UInt8] {
        Array(#"{"detail":\#(JSONText.quoted(text))}"#.utf8)
    }
}
