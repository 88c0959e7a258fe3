extension PinCleaner {
    /// Cleans a record given as the `fields` of its JSON `text` straight into `rows`: the same rules,
    /// values and counts as `clean(_:)`, working on the bytes instead of building strings.
    ///
    /// The placeholders are ASCII without `K`, `;` or `` ` `` (the only ASCII characters that a
    /// non-ASCII one is canonically equivalent to), so comparing bytes gives the same answer as
    /// comparing `String`s. The one place where `String` rules differ from bytes, a save location
    /// whose prefix is followed by a combining character, goes through `String`.
    public mutating func clean(_ fields: RawPin.Fields, of text: UnsafeBufferPointer<UInt8>, into rows: inout CleanRows)
    {
        var counts = self.counts
        // Only allocated when a value holds escapes.
        var scratch: [UInt8] = []
        counts.records += 1
        rows.appendInteger(fields.index)
        rows.appendString(UnsafeBufferPointer(rebasing: text[fields.uniqueID]))
        Self.nulling(fields.title, text, Self.titlePlaceholderBytes, &counts.title, &rows, &scratch)
        Self.nulling(fields.description, text, Self.descriptionPlaceholderBytes, &counts.description, &rows, &scratch)
        Self.followerCount(fields.followerCount, text, &counts, &rows, &scratch)
        Self.nulling(fields.posterName, text, Self.userInfoErrorBytes, &counts.posterName, &rows, &scratch)
        Self.tagList(fields.tagList, text, &counts, &rows, &scratch)
        Self.plain(fields.isImageOrVideo, text, &rows, &scratch)
        Self.nulling(fields.imageSrc, text, Self.imageSrcPlaceholderBytes, &counts.imageSrc, &rows, &scratch)
        Self.saveLocation(fields.saveLocation, text, &counts, &rows, &scratch)
        Self.plain(fields.category, text, &rows, &scratch)
        rows.appendBool(fields.downloaded?.value)
        rows.endRow()
        self.counts = counts
    }

    private static let titlePlaceholderBytes = [Array(titlePlaceholder.utf8)]
    private static let descriptionPlaceholderBytes = descriptionPlaceholders.map { Array($0.utf8) }
    private static let userInfoErrorBytes = [Array(userInfoError.utf8)]
    private static let imageSrcPlaceholderBytes = [Array(imageSrcPlaceholder.utf8)]
    private static let tagListPlaceholderBytes = Array(tagListPlaceholder.utf8)
    private static let saveLocationPrefixBytes = Array(saveLocationPrefix.utf8)

    /// Calls `body` with a string field's text, escapes resolved.
    @inline(__always)
    private static func withValue(
        _ field: RawPin.Fields.Text, _ text: UnsafeBufferPointer<UInt8>, _ scratch: inout [UInt8],
        _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) {
        let raw = UnsafeBufferPointer(rebasing: text[field.range])
        guard field.hasEscapes else { return body(raw) }
        scratch.removeAll(keepingCapacity: true)
        JSONScanner.unescape(raw, into: &scratch)
        scratch.withUnsafeBufferPointer(body)
    }

    @inline(__always)
    private static func equals(_ value: UnsafeBufferPointer<UInt8>, _ constant: [UInt8]) -> Bool {
        value.count == constant.count && constant.withUnsafeBufferPointer { value.elementsEqual($0) }
    }

    private static func plain(
        _ field: RawPin.Fields.Text?, _ text: UnsafeBufferPointer<UInt8>, _ rows: inout CleanRows,
        _ scratch: inout [UInt8]
    ) {
        guard let field else { return rows.appendNullString() }
        withValue(field, text, &scratch) { rows.appendString($0) }
    }

    private static func nulling(
        _ field: RawPin.Fields.Text?, _ text: UnsafeBufferPointer<UInt8>, _ placeholders: [[UInt8]],
        _ counter: inout NullingCounts, _ rows: inout CleanRows, _ scratch: inout [UInt8]
    ) {
        guard let field else { return rows.appendNullString() }
        withValue(field, text, &scratch) { value in
            if value.isEmpty {
                counter.empty += 1
                rows.appendNullString()
            } else if placeholders.contains(where: { equals(value, $0) }) {
                counter.placeholder += 1
                rows.appendNullString()
            } else {
                rows.appendString(value)
            }
        }
    }

    private static func followerCount(
        _ field: RawPin.Fields.FollowerCount?, _ text: UnsafeBufferPointer<UInt8>, _ counts: inout CleaningCounts,
        _ rows: inout CleanRows, _ scratch: inout [UInt8]
    ) {
        switch field {
        case nil:
            rows.appendInteger(nil)
        case .number(let number):
            if number >= 0 {
                counts.followerCount.integer += 1
                rows.appendInteger(number)
            } else {
                counts.followerCount.unparseable += 1
                rows.appendInteger(nil)
            }
        case .text(let field):
            withValue(field, text, &scratch) { value in
                if value.isEmpty {
                    counts.followerCount.empty += 1
                    rows.appendInteger(nil)
                } else if equals(value, userInfoErrorBytes[0]) {
                    counts.followerCount.placeholder += 1
                    rows.appendInteger(nil)
                } else if let parsed = FollowerCountParser.parse(value) {
                    if parsed.suffixed { counts.followerCount.suffixed += 1 } else { counts.followerCount.digits += 1 }
                    rows.appendInteger(parsed.value)
                } else {
                    counts.followerCount.unparseable += 1
                    rows.appendInteger(nil)
                }
            }
        }
    }

    private static func tagList(
        _ field: RawPin.Fields.Text?, _ text: UnsafeBufferPointer<UInt8>, _ counts: inout CleaningCounts,
        _ rows: inout CleanRows, _ scratch: inout [UInt8]
    ) {
        guard let field else { return rows.appendNullList() }
        withValue(field, text, &scratch) { value in
            if value.isEmpty {
                counts.tagList.empty += 1
                return rows.appendNullList()
            }
            if equals(value, tagListPlaceholderBytes) {
                counts.tagList.placeholder += 1
                return rows.appendNullList()
            }
            counts.tagList.split += 1
            let header = rows.beginList()
            var items = 0
            forEachTag(value) { tag in
                rows.appendListItem(tag)
                items += 1
            }
            rows.endList(header, items: items)
        }
    }

    private static func saveLocation(
        _ field: RawPin.Fields.Text?, _ text: UnsafeBufferPointer<UInt8>, _ counts: inout CleaningCounts,
        _ rows: inout CleanRows, _ scratch: inout [UInt8]
    ) {
        guard let field else { return rows.appendNullString() }
        withValue(field, text, &scratch) { value in
            let prefix = saveLocationPrefixBytes
            guard value.count >= prefix.count,
                UnsafeBufferPointer(rebasing: value[..<prefix.count]).elementsEqual(prefix)
            else { return rows.appendString(value) }
            if value.count == prefix.count || value[prefix.count] < 0x80 {
                counts.saveLocationPrefixRemoved += 1
                return rows.appendString(UnsafeBufferPointer(rebasing: value[prefix.count...]))
            }
            // A non-ASCII character after the prefix may combine with its last space.
            let string = String(decoding: value, as: UTF8.self)
            guard string.hasPrefix(saveLocationPrefix) else { return rows.appendString(value) }
            counts.saveLocationPrefixRemoved += 1
            rows.appendString(String(string.dropFirst(saveLocationPrefix.count)))
        }
    }
}
