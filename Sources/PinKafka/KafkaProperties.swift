#if canImport(Glibc)
import Glibc
#endif

/// Raw librdkafka properties as users write them: `key=value` pairs from `-X` flags or a
/// Java-style properties file (`#`/`!` comments, blank lines ignored, the first `=` or `:` splits).
public enum KafkaProperties {
    /// Parses one `key=value` pair.
    public static func parse(pair: String) throws(KafkaError) -> (key: String, value: String) {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw KafkaError(code: .invalidArgument, message: "expected key=value, got '\(redacted(pair))'")
        }
        return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
    }

    /// Parses the text of a properties file.
    public static func parse(fileContents text: String) throws(KafkaError) -> [String: String] {
        var result: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let split = line.firstIndex(where: { $0 == "=" || $0 == ":" }), split != line.startIndex else {
                throw KafkaError(code: .invalidArgument, message: "properties line \(number + 1): expected key=value")
            }
            let key = line[..<split].trimmingASCIIWhitespace()
            let value = line[line.index(after: split)...].trimmingASCIIWhitespace()
            result[String(key)] = String(value)
        }
        return result
    }

    /// Reads and parses a properties file.
    public static func load(path: String) throws(KafkaError) -> [String: String] {
        guard let file = fopen(path, "r") else {
            throw KafkaError(code: .invalidArgument, message: "cannot read properties file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return try parse(fileContents: String(decoding: bytes, as: UTF8.self))
    }

    /// Property names whose values must never appear in messages.
    static func isSecret(_ key: String) -> Bool {
        let lower = key.lowercased()
        return lower.contains("password") || lower.contains("secret") || lower.contains("token")
            || lower.hasSuffix(".key") || lower.contains("key.pem") || lower.contains("jaas")
    }

    private static func redacted(_ pair: String) -> String {
        isSecret(pair) ? "<redacted>" : pair
    }
}

extension Substring {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
