import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The secrets a connection string carries, so that libpq's messages can be scrubbed before they reach an error.
struct ConnectionSecrets: Sendable {
    private var values: [String] = []

    /// Extracts the password from `conninfo` (key/value or URL form) and from `PGPASSWORD`.
    /// Throws a connection error (with any quoted fragment of the string removed) if libpq cannot parse it.
    init(conninfo: String) throws(PostgresError) {
        if let password = getenv("PGPASSWORD").map({ String(cString: $0) }), !password.isEmpty {
            values.append(password)
        }
        var errorMessage: UnsafeMutablePointer<CChar>? = nil
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            var message = "invalid connection string"
            if let errorMessage {
                // libpq quotes the part it could not parse, which may be the password: drop quoted parts.
                message += ": " + Self.removingQuotedParts(String(cString: errorMessage))
                PQfreemem(errorMessage)
            }
            throw PostgresError(kind: .configuration, message: Self.oneLine(message))
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val {
                let password = String(cString: value)
                if !password.isEmpty { values.append(password) }
            }
            option += 1
        }
    }

    /// `message` on one line, without the known passwords, URL passwords (`scheme://user:secret@`) or
    /// `password=` values.
    func scrub(_ message: String) -> String {
        var text = Self.oneLine(message)
        for secret in values.sorted(by: { $0.count > $1.count }) {
            text = text.replacing(secret, with: "***")
        }
        text = Self.scrubURLPasswords(text)
        return Self.scrubKeywordPasswords(text)
    }

    /// libpq's messages span lines ("…failed: Connection refused\n\tIs the server running…"); log lines should not.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { line in
            var line = line
            while let first = line.first, first.isWhitespace { line.removeFirst() }
            while let last = line.last, last.isWhitespace { line.removeLast() }
            return String(line)
        }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    private static func removingQuotedParts(_ text: String) -> String {
        var out = ""
        var inQuote = false
        for character in text {
            if character == "\"" {
                if !inQuote { out += "\"…\"" }
                inQuote.toggle()
            } else if !inQuote {
                out.append(character)
            }
        }
        return out
    }

    private static func scrubURLPasswords(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.firstRange(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0.isWhitespace }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[...colon] + "***" + authority[at...]
                rest = rest[authorityEnd...]
            }
        }
        return out + rest
    }

    private static func scrubKeywordPasswords(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let match = rest.firstRange(of: "password=") {
            out += rest[..<match.upperBound] + "***"
            rest = rest[match.upperBound...]
            if rest.first == "'" {
                // Quoted value: skip to the closing quote (backslash escapes).
                var index = rest.index(after: rest.startIndex)
                while index < rest.endIndex, rest[index] != "'" {
                    if rest[index] == "\\" { index = rest.index(after: index) }
                    if index < rest.endIndex { index = rest.index(after: index) }
                }
                rest = index < rest.endIndex ? rest[rest.index(after: index)...] : rest[rest.endIndex...]
            } else {
                rest = rest.drop(while: { !$0.isWhitespace && $0 != "&" })
            }
        }
        return out + rest
    }
}
