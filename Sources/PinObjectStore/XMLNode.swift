/// A minimal XML tree, enough for S3's answers: elements, text and entities; attributes,
/// comments and processing instructions are skipped, namespace prefixes dropped.
struct XMLNode: Sendable {
    var name: String
    var text: String = ""
    var children: [XMLNode] = []

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// The text of the first child called `name`.
    func value(_ name: String) -> String? { child(name)?.text }

    /// The root element, or nil if `bytes` is not well-formed enough to read.
    static func parse(_ bytes: [UInt8]) -> XMLNode? {
        var stack: [XMLNode] = []
        var root: XMLNode?
        var text: [UInt8] = []
        var index = 0
        let count = bytes.count

        func find(_ pattern: [UInt8], from start: Int) -> Int? {
            guard pattern.count <= count else { return nil }
            var position = start
            while position + pattern.count <= count {
                if bytes[position] == pattern[0] && Array(bytes[position..<position + pattern.count]) == pattern {
                    return position
                }
                position += 1
            }
            return nil
        }

        while index < count {
            let byte = bytes[index]
            if byte != UInt8(ascii: "<") {
                text.append(byte)
                index += 1
                continue
            }
            if bytes[index...].starts(with: Array("<![CDATA[".utf8)) {
                guard let end = find(Array("]]>".utf8), from: index + 9) else { return nil }
                // Pre-escape so the entity decoding below leaves CDATA content as it is.
                for b in bytes[(index + 9)..<end] {
                    if b == UInt8(ascii: "&") { text += Array("&amp;".utf8) } else { text.append(b) }
                }
                index = end + 3
                continue
            }
            if bytes[index...].starts(with: Array("<!--".utf8)) {
                guard let end = find(Array("-->".utf8), from: index + 4) else { return nil }
                index = end + 3
                continue
            }
            guard let close = find([UInt8(ascii: ">")], from: index) else { return nil }
            let tag = bytes[(index + 1)..<close]
            index = close + 1
            guard let first = tag.first else { return nil }
            if first == UInt8(ascii: "?") || first == UInt8(ascii: "!") { continue }
            if first == UInt8(ascii: "/") {
                guard var node = stack.popLast() else { return nil }
                node.text = decodeEntities(text)
                text.removeAll(keepingCapacity: true)
                if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
                continue
            }
            text.removeAll(keepingCapacity: true)
            let selfClosing = tag.last == UInt8(ascii: "/")
            let nameEnd =
                tag.firstIndex { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "/") || $0 == 9 || $0 == 10 || $0 == 13 }
                ?? tag.endIndex
            var name = String(decoding: tag[tag.startIndex..<nameEnd], as: UTF8.self)
            if let colon = name.lastIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
            let node = XMLNode(name: name)
            if selfClosing {
                if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
            } else {
                stack.append(node)
            }
        }
        return stack.isEmpty ? root : nil
    }

    static func decodeEntities(_ bytes: [UInt8]) -> String {
        guard bytes.contains(UInt8(ascii: "&")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "&"), let semicolon = bytes[index...].firstIndex(of: UInt8(ascii: ";")),
                semicolon - index <= 10
            else {
                out.append(byte)
                index += 1
                continue
            }
            let entity = String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self)
            var scalar: Unicode.Scalar?
            switch entity {
            case "amp": scalar = "&"
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                }
            }
            if let scalar {
                out += Array(String(Character(scalar)).utf8)
                index = semicolon + 1
            } else {
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Escapes text for an XML element body.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
