import Foundation
import Synchronization

/// The folder that holds the built tools: PINPIPE_BIN, else the folder of the test binary
/// (SwiftPM puts executables and the test bundle side by side).
let toolDirectory: URL = {
    if let path = ProcessInfo.processInfo.environment["PINPIPE_BIN"], !path.isEmpty {
        return URL(fileURLWithPath: path)
    }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("pin-api").path) {
        url.deleteLastPathComponent()
    }
    return url
}()

/// The project root, for the virtualenv and fixtures.
let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh name per test, so parallel tests and re-runs never share topics, groups or tables.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000_000)"
}

var stackBrokers: String { ProcessInfo.processInfo.environment["KAFKA_BOOTSTRAP_SERVERS"] ?? "127.0.0.1:19092" }

struct ToolError: Error, CustomStringConvertible {
    var description: String
}

/// One of the built tools (or any program) running in the background, its stderr kept in a file.
final class ToolProcess: @unchecked Sendable {
    let process = Process()
    let stderrURL: URL
    let stdoutURL: URL

    init(
        _ tool: String, _ arguments: [String], environment: [String: String] = [:], stdin: URL? = nil,
        executable: URL? = nil
    ) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName(tool))
        stderrURL = scratch.appendingPathExtension("stderr")
        stdoutURL = scratch.appendingPathExtension("stdout")
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        process.executableURL = executable ?? toolDirectory.appendingPathComponent(tool)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardInput = try stdin.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
        try process.run()
    }

    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }

    /// Waits for a stderr line containing `text` and returns that line.
    func waitForLog(_ text: String, timeout: Duration = .seconds(30)) throws -> String {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if let line = stderr.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if !process.isRunning {
                throw ToolError(
                    description:
                        "\(process.executableURL!.lastPathComponent) exited \(process.terminationStatus) before logging '\(text)':\n\(stderr)"
                )
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw ToolError(description: "no '\(text)' within \(timeout):\n\(stderr)")
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end and returns its exit status.
    @discardableResult
    func wait(timeout: Duration = .seconds(60)) throws -> Int32 {
        let end = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < end else {
                signal(SIGKILL)
                throw ToolError(
                    description:
                        "\(process.executableURL!.lastPathComponent) still running after \(timeout):\n\(stderr)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { signal(SIGKILL) }
        try? FileManager.default.removeItem(at: stderrURL)
        try? FileManager.default.removeItem(at: stdoutURL)
    }
}

/// A broker of the stack's kind on a port of its own, for tests that stop and restart it.
final class ScratchBroker: @unchecked Sendable {
    let port: Int
    let dataDirectory: URL
    private var process: ToolProcess?

    init() throws {
        // Below Linux's ephemeral range (32768 up): while the broker is down for a restart, a client
        // reconnecting to it could otherwise get this very port as its own source port (a TCP
        // self-connect), or any other connection could hold it, and the restart could not listen.
        port = Int.random(in: 20_000...29_999)
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("broker"))
        try start()
    }

    var address: String { "127.0.0.1:\(port)" }

    func start() throws {
        // The broker binary itself, not the package's Python launcher: killing the launcher
        // would leave the broker running.
        let lib = projectRoot.appendingPathComponent(".venv/lib")
        let python = try FileManager.default.contentsOfDirectory(atPath: lib.path).first { $0.hasPrefix("python3") }
        let noida = lib.appendingPathComponent("\(python ?? "python3")/site-packages/noida_db/noida-db")
        let process = try ToolProcess(
            "noida-db",
            [
                "start", "--only", "kafka", "--host", "127.0.0.1", "--kafka-port", String(port), "--data-dir",
                dataDirectory.path,
            ],
            executable: noida)
        self.process = process
        try waitForPort(port)
    }

    /// Freezes the broker (SIGSTOP): connections stay open and nothing is answered.
    func suspend() { process?.signal(SIGSTOP) }

    func resume() { process?.signal(SIGCONT) }

    /// Kills the broker at once (the stack's broker snapshots about once a second).
    func stop() throws {
        process?.signal(SIGKILL)
        try process?.wait()
        process = nil
    }

    deinit {
        process?.signal(SIGKILL)
        try? FileManager.default.removeItem(at: dataDirectory)
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
func waitForPort(_ port: Int, timeout: Duration = .seconds(20)) throws {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(fd)
        if connected == 0 { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    throw ToolError(description: "nothing listens on 127.0.0.1:\(port) after \(timeout)")
}
