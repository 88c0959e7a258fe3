import Foundation

/// Runs the built pin-batch binary and the Parquet read-back script.
enum BatchTool {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// $PINPIPE_BIN/pin-batch, else the first folder above the test bundle that holds `pin-batch`.
    static func binary() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let folder = environment["PINPIPE_BIN"], !folder.isEmpty {
            return URL(fileURLWithPath: folder).appendingPathComponent("pin-batch").path
        }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("pin-batch").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw Failure(description: "pin-batch not found above \(CommandLine.arguments[0]); build it or set PINPIPE_BIN")
    }

    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        try execute(binary(), arguments, environment: extra)
    }

    /// Starts pin-batch without waiting, its output discarded, for tests that signal it.
    static func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// $PINPIPE_PYTHON, else the package's .venv, else python3 on PATH.
    static var python: String {
        if let configured = ProcessInfo.processInfo.environment["PINPIPE_PYTHON"], !configured.isEmpty {
            return configured
        }
        let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
    }

    /// Rows of the Parquet files, in order, as the reader (`pyarrow`, `duckdb` or `spark`) sees them.
    static func parquetRows(_ paths: [String], reader: String) throws -> [[Any]] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/read_parquet.py").path
        let result = try execute(python, [script, reader] + paths)
        guard result.status == 0 else { throw Failure(description: "read_parquet.py failed: \(result.stderr)") }
        return try result.stdout.split(separator: "\n").map { line in
            guard let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Any] else {
                throw Failure(description: "not a JSON array: \(line)")
            }
            return row
        }
    }

    /// Runs a script of Tests/Support with the project's Python.
    static func runSupportScript(_ name: String, _ arguments: [String]) throws -> Result {
        try execute(python, [packageRoot.appendingPathComponent("Tests/Support/\(name)").path] + arguments)
    }

    private static func execute(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:])
        throws -> Result
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("batch-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8)
        )
    }
}
