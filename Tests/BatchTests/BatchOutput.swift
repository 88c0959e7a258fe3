import Foundation
import PinCore

/// One value of a clean row, comparable whichever side it came from.
enum Cell: Equatable, CustomStringConvertible {
    case null
    case int(Int64)
    case string(String)
    case bool(Bool)
    case list([String])

    var description: String {
        switch self {
        case .null: "null"
        case .int(let value): String(value)
        case .string(let value): "\"\(value)\""
        case .bool(let value): String(value)
        case .list(let value): "\(value)"
        }
    }

    enum Kind { case int, string, bool, list }

    /// The kinds of SPEC 1.2's columns, in order.
    static let kinds: [Kind] = [
        .int, .string, .string, .string, .int, .string, .list, .string, .string, .string, .string, .bool,
    ]

    static func row(_ pin: CleanPin) -> [Cell] {
        func text(_ value: String?) -> Cell { value.map(Cell.string) ?? .null }
        return [
            .int(pin.ind), .string(pin.uniqueID), text(pin.title), text(pin.description),
            pin.followerCount.map(Cell.int) ?? .null, text(pin.posterName), pin.tagList.map(Cell.list) ?? .null,
            text(pin.isImageOrVideo), text(pin.imageSrc), text(pin.saveLocation), .string(pin.category),
            pin.downloaded.map(Cell.bool) ?? .null,
        ]
    }

    static func row(json values: [Any]) -> [Cell] {
        zip(values, kinds).map { value, kind in
            if value is NSNull { return .null }
            switch kind {
            case .int: return (value as? NSNumber).map { .int($0.int64Value) } ?? .string("?\(value)")
            case .string: return (value as? String).map(Cell.string) ?? .string("?\(value)")
            case .bool: return (value as? Bool).map(Cell.bool) ?? .string("?\(value)")
            case .list: return (value as? [String]).map(Cell.list) ?? .string("?\(value)")
            }
        }
    }
}

/// A local pin-batch output folder.
struct BatchOutput {
    let root: URL

    func folder(_ date: String) -> URL { root.appendingPathComponent("dt=\(date)") }

    func files(_ date: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder(date).path)) ?? []).sorted()
    }

    func parts(_ date: String) -> [String] {
        files(date).filter { $0.hasPrefix("part-") && $0.hasSuffix(".parquet") }
    }

    func rows(_ date: String, reader: String = "pyarrow") throws -> [[Cell]] {
        let paths = parts(date).map { folder(date).appendingPathComponent($0).path }
        guard !paths.isEmpty else { return [] }
        return try BatchTool.parquetRows(paths, reader: reader).map(Cell.row(json:))
    }

    /// Per part: the row counts of its row groups and its compression codec, as pyarrow sees them.
    func rowGroups(_ date: String) throws -> [(rows: [Int], codec: String)] {
        let paths = parts(date).map { folder(date).appendingPathComponent($0).path }
        return try BatchTool.parquetRows(paths, reader: "groups").map {
            (($0.first as? [Int]) ?? [], ($0.last as? String) ?? "")
        }
    }

    func report(_ date: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder(date).appendingPathComponent("_REPORT.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    func hasSuccess(_ date: String) -> Bool {
        FileManager.default.fileExists(atPath: folder(date).appendingPathComponent("_SUCCESS").path)
    }

    /// The reject records of a date, parsed.
    func rejects(_ date: String) throws -> [[String: Any]] {
        let url = root.appendingPathComponent("_rejected/dt=\(date)/rejects.ndjson")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }

    /// Every file of a date's folder with its bytes.
    func snapshot(_ date: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in self.files(date) { files[name] = try Data(contentsOf: folder(date).appendingPathComponent(name)) }
        return files
    }
}

func temporaryDirectory(_ stem: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(stem)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
