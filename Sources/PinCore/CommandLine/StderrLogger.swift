import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

public enum LogLevel: String, ExpressibleByArgument, Sendable, Comparable, CaseIterable {
    case debug, info, warning, error

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

public enum LogFormat: String, ExpressibleByArgument, Sendable {
    case text, json
}

/// A line-per-event logger on stderr. Each event is one `write(2)`, so lines from
/// concurrent tasks never interleave.
public struct StderrLogger: Sendable {
    public let tool: String
    public let level: LogLevel
    public let format: LogFormat

    public init(tool: String, level: LogLevel = .info, format: LogFormat = .text) {
        self.tool = tool
        self.level = level
        self.format = format
    }

    public func debug(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.debug, message(), fields)
    }
    public func info(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.info, message(), fields)
    }
    public func warning(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.warning, message(), fields)
    }
    public func error(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.error, message(), fields)
    }

    public func log(_ eventLevel: LogLevel, _ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        guard eventLevel >= level else { return }
        let time = Self.timestamp()
        var line: String
        switch format {
        case .text:
            line = "\(time) \(eventLevel.rawValue.uppercased()) \(tool): \(message())"
            for (key, value) in fields { line += " \(key)=\(value)" }
        case .json:
            line =
                "{\"time\":\(JSONText.quoted(time)),\"level\":\"\(eventLevel.rawValue)\",\"tool\":\(JSONText.quoted(tool)),\"msg\":\(JSONText.quoted(message()))"
            for (key, value) in fields { line += ",\(JSONText.quoted(key)):\(JSONText.quoted(value))" }
            line += "}"
        }
        line += "\n"
        StandardStream.writeError(line)
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let millis = Int32(spec.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(millis, 3))Z"
    }
}

/// Whole-buffer writes to the standard streams.
public enum StandardStream {
    public static func writeError(_ text: String) { write(text, to: 2) }
    public static func writeOutput(_ text: String) { write(text, to: 1) }

    public static var errorIsTerminal: Bool { isatty(2) == 1 }

    public static func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { buffer in _ = write(UnsafeRawBufferPointer(buffer), to: fd) }
    }

    /// Writes all of `bytes`, retrying short writes; false if the stream failed (e.g. a closed pipe).
    @discardableResult
    public static func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
