import ArgumentParser

/// Logging flags shared by every tool: logs go to stderr, never stdout.
public struct LogOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "debug, info, warning or error.")
    public var logLevel: LogLevel = .info

    @Option(name: .long, help: "text or json.")
    public var logFormat: LogFormat = .text

    public init() {}

    public func makeLogger(tool: String) -> StderrLogger {
        StderrLogger(tool: tool, level: logLevel, format: logFormat)
    }
}
