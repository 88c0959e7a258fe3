import Foundation
import PinParquet

/// Reads files back through pyarrow, DuckDB and Spark (Tests/Support/read_parquet.py) for comparison.
enum ParquetReadBack {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    enum Reader: String, CaseIterable {
        case pyarrow
        case duckdb
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/read_parquet.py").path
    }

    /// $PINPIPE_PYTHON, else the package's .venv, else python3 on PATH.
    static var python: String {
        if let configured = ProcessInfo.processInfo.environment["PINPIPE_PYTHON"], !configured.isEmpty {
            return configured
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let venv = root.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    /// A fresh path in the temporary directory.
    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pinparquet-\(name)-\(UUID().uuidString).parquet")
            .path
    }

    static func rows(_ path: String, reader: Reader, schema: ParquetSchema) throws -> [[ParquetValue]] {
        let output = try run(reader.rawValue, [path])
        return try output.split(separator: UInt8(ascii: "\n")).map { line in
            guard let array = try JSONSerialization.jsonObject(with: Data(line)) as? [Any] else {
                throw Failure(description: "not a JSON array: \(String(decoding: line, as: UTF8.self))")
            }
            guard array.count == schema.columns.count else {
                throw Failure(description: "\(array.count) values, expected \(schema.columns.count)")
            }
            return try zip(array, schema.columns).map { try value($0, $1.kind) }
        }
    }

    static func metadata(_ path: String) throws -> [String: Any] {
        try object("metadata", path)
    }

    static func aggregate(_ path: String) throws -> [String: Any] {
        try object("aggregate", path)
    }

    /// pyarrow, DuckDB and Spark each read `path`; every row is compared with `expected` (JSON arrays, one a line).
    static func compare(expected: String, path: String) throws -> [String: Any] {
        try object("compare", expected, path)
    }

    private static func object(_ mode: String, _ paths: String...) throws -> [String: Any] {
        let output = try run(mode, paths)
        guard let object = try JSONSerialization.jsonObject(with: Data(output)) as? [String: Any] else {
            throw Failure(description: "\(mode) output is not a JSON object")
        }
        return object
    }

    private static func value(_ json: Any, _ kind: ParquetColumn.Kind) throws -> ParquetValue {
        if json is NSNull { return .null }
        switch kind {
        case .int64:
            guard let number = json as? NSNumber else { break }
            return .int64(number.int64Value)
        case .boolean:
            guard let flag = json as? Bool else { break }
            return .bool(flag)
        case .string:
            guard let text = json as? String else { break }
            return .string(text)
        case .stringList:
            guard let items = json as? [String] else { break }
            return .stringList(items)
        }
        throw Failure(description: "unexpected \(type(of: json)) for a \(kind) column")
    }

    private static func run(_ mode: String, _ paths: [String]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, mode] + paths
        let stdout = Pipe()
        // stderr goes to a file so a chatty reader cannot block on a full pipe.
        let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "read_parquet-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errorPath.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorPath) }
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errorPath)
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let errors = (try? String(contentsOf: errorPath, encoding: .utf8)) ?? ""
            throw Failure(description: "read_parquet.py \(mode) failed: \(errors)")
        }
        return [UInt8](output)
    }
}
