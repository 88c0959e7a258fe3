extension RawPin {
    /// The record as compact UTF-8 JSON: every field of SPEC 1.1 in the sample's order,
    /// `null` for absent optional fields. This is the value published to Kafka.
    public func jsonBytes() -> [UInt8] {
        // Room for the text and the member names up front, so the buffer is allocated once.
        func length(_ value: String?) -> Int { value?.utf8.count ?? 0 }
        var text = uniqueID.utf8.count + category.utf8.count + length(title) + length(description)
        text += length(posterName) + length(tagList) + length(isImageOrVideo) + length(imageSrc) + length(saveLocation)
        if case .text(let followers) = followerCount { text += followers.utf8.count }
        var writer = JSONObjectWriter(capacity: text + 256)
        writer.field("index", integer: index)
        writer.field("unique_id", string: uniqueID)
        writer.field("title", string: title)
        writer.field("description", string: description)
        writer.field("poster_name", string: posterName)
        switch followerCount {
        case .text(let text): writer.field("follower_count", string: text)
        case .number(let number): writer.field("follower_count", integer: number)
        case nil: writer.field("follower_count", string: nil)
        }
        writer.field("tag_list", string: tagList)
        writer.field("is_image_or_video", string: isImageOrVideo)
        writer.field("image_src", string: imageSrc)
        switch downloaded {
        case .integer(let flag): writer.field("downloaded", integer: flag ? 1 : 0)
        case .boolean(let flag): writer.field("downloaded", bool: flag)
        case nil: writer.field("downloaded", string: nil)
        }
        writer.field("save_location", string: saveLocation)
        writer.field("category", string: category)
        return writer.finish()
    }
}

/// Appends `"key":value` members to a byte buffer.
public struct JSONObjectWriter {
    private var out: [UInt8]
    private var first = true

    public init(capacity: Int = 256) {
        out = [UInt8(ascii: "{")]
        out.reserveCapacity(capacity)
    }

    private mutating func key(_ name: StaticString) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    private mutating func null() { out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    public mutating func field(_ name: StaticString, string value: String?) {
        key(name)
        if let value { JSONText.appendQuoted(value, to: &out) } else { null() }
    }

    public mutating func field(_ name: StaticString, integer value: Int64?) {
        key(name)
        if let value { out.append(contentsOf: String(value).utf8) } else { null() }
    }

    public mutating func field(_ name: StaticString, bool value: Bool?) {
        key(name)
        if let value { out.append(contentsOf: (value ? "true" : "false").utf8) } else { null() }
    }

    public mutating func field(_ name: StaticString, strings value: [String]?) {
        key(name)
        guard let value else { return null() }
        out.append(UInt8(ascii: "["))
        for (position, item) in value.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(item, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    public mutating func finish() -> [UInt8] {
        out.append(UInt8(ascii: "}"))
        return out
    }
}
