import Foundation
import PinCompression
import PinCore

/// A pin-consume-s3-shaped input built from the real sample: objects across two partitions, some
/// gzip- or zstd-compressed, single-record `.json` files, duplicates and invalid lines.
struct RawFixture {
    struct Line {
        var object: String
        var line: Int
        var text: String
        /// The Kafka offset, for objects named `<topic>+<partition>+<first offset>`.
        var offset: Int64?
    }

    static let topic = "pinterest_topic"
    static let firstDate = "2024-01-01"
    static let secondDate = "2024-01-02"

    /// Object key (relative to the topic folder) → bytes.
    var objects: [String: [UInt8]] = [:]
    /// Every non-blank input line, per date.
    var lines: [String: [Line]] = [:]
    /// Objects that cannot be decoded at all, per date: one reject each.
    var corrupt: [String: [String]] = [:]

    static let sample: [String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("PinCoreTests/Fixtures/pins.jsonl")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }()

    /// A sample row with another title, as a later copy of the same record.
    static func retitled(_ row: Int, _ title: String) -> String {
        var object = try! JSONSerialization.jsonObject(with: Data(sample[row].utf8)) as! [String: Any]
        object["title"] = title
        return String(
            decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func uniqueID(_ row: Int) -> String {
        let object = try! JSONSerialization.jsonObject(with: Data(sample[row].utf8)) as! [String: Any]
        return object["unique_id"] as! String
    }

    static func standard() throws -> RawFixture {
        var fixture = RawFixture()
        let day = "dt=\(firstDate)/"
        try fixture.addLines(day + "\(topic)+0+00000000000000000000.jsonl", Array(sample[0..<30]), firstOffset: 0)
        try fixture.addLines(
            day + "\(topic)+0+00000000000000000030.jsonl.gz",
            Array(sample[30..<45]) + [
                retitled(3, "winner: later offset, same partition"),
                retitled(60, "winner: higher offset than its partition 1 copy"),
                "not json at all",
            ] + Array(sample[45..<50]),
            firstOffset: 30, format: .gzip)
        try fixture.addLines(
            day + "\(topic)+1+00000000000000000000.jsonl.zst",
            Array(sample[50..<70]) + [
                #"{"index": 1, "title": "missing unique_id and category"}"#,
                retitled(40, "loser: lower offset than its partition 0 copy"),
            ],
            firstOffset: 0, format: .zstd)
        try fixture.addLines(
            day + "manual-upload.jsonl",
            Array(sample[71..<80]) + [retitled(75, "winner: later in input order")],
            firstOffset: nil, crlf: true)
        let pretty = try JSONSerialization.data(
            withJSONObject: JSONSerialization.jsonObject(with: Data(sample[70].utf8)), options: [.prettyPrinted])
        fixture.addSingle(day + "single-70.json", String(decoding: pretty, as: UTF8.self))
        fixture.addSingle(day + "single-broken.json", "{\"index\": ")
        fixture.objects[day + "\(topic)+2+00000000000000000000.jsonl.gz"] = Array("this is not gzip\n".utf8)
        fixture.corrupt[firstDate, default: []].append(day + "\(topic)+2+00000000000000000000.jsonl.gz")
        fixture.objects[day + "README.txt"] = Array("not an input object\n".utf8)
        try fixture.addLines(
            "dt=\(secondDate)/\(topic)+0+00000000000000000100.jsonl", Array(sample[80..<90]), firstOffset: 100)
        return fixture
    }

    /// Many megabytes of input (the sample over and over, each copy with its own unique_id) in four
    /// objects of two partitions, plus copies of earlier rows that win or lose across objects and invalid
    /// lines: enough rows that the second pass cleans them as many batches, on several threads.
    static func large(rowsPerObject: Int = 6_000) throws -> RawFixture {
        let ids = sample.indices.map(uniqueID)
        func row(_ number: Int) -> String {
            let base = number % sample.count
            let id = String(format: "%08x-0000-4000-8000-%012x", number, number)
            return sample[base].replacingOccurrences(of: ids[base], with: id)
        }
        var fixture = RawFixture()
        let day = "dt=\(firstDate)/"
        var number = 0
        for (object, (partition, offset)) in [(0, 0), (1, 0), (0, rowsPerObject), (1, rowsPerObject)].enumerated() {
            var rows: [String] = []
            for index in 0..<rowsPerObject {
                switch index % 500 {
                // A copy of a row of the object written before, in the other partition: which copy
                // wins depends on their offsets.
                case 17 where object > 0: rows.append(row(number - rowsPerObject / 2))
                // A copy of a row of this object (same partition, higher offset: the later one wins).
                case 251: rows.append(row(number - 100))
                case 333: rows.append("{\"index\": \(number), \"broken\": ")
                default:
                    rows.append(row(number))
                    number += 1
                }
            }
            let name =
                "\(topic)+\(partition)+" + String(format: "%020d", offset) + (object == 3 ? ".jsonl.zst" : ".jsonl")
            try fixture.addLines(day + name, rows, firstOffset: Int64(offset), format: object == 3 ? .zstd : .none)
        }
        return fixture
    }

    mutating func addLines(
        _ key: String, _ rows: [String], firstOffset: Int64?, format: StreamFormat = .none, crlf: Bool = false
    ) throws {
        var text = rows.joined(separator: crlf ? "\r\n" : "\n") + (crlf ? "\r\n" : "\n")
        if crlf { text = "\r\n" + text }  // a blank first line: skipped, but it counts for line numbers
        let bytes = Array(text.utf8)
        objects[key] = format == .none ? bytes : try Compressor.compress(bytes, format: format)
        let blankLines = crlf ? 1 : 0
        for (index, row) in rows.enumerated() {
            let line = index + 1 + blankLines
            lines[Self.date(of: key), default: []].append(
                Line(object: key, line: line, text: row, offset: firstOffset.map { $0 + Int64(line - 1) }))
        }
    }

    mutating func addSingle(_ key: String, _ text: String) {
        objects[key] = Array(text.utf8)
        lines[Self.date(of: key), default: []].append(Line(object: key, line: 1, text: text, offset: nil))
    }

    static func date(of key: String) -> String { String(key.prefix("dt=YYYY-MM-DD".count).dropFirst(3)) }

    /// Writes the objects under `root/<topic>/`.
    func write(to root: URL) throws {
        for (key, bytes) in objects {
            let url = root.appendingPathComponent(Self.topic).appendingPathComponent(key)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
    }

    struct Expected {
        var rows: [CleanPin]
        var rowsIn: Int
        var rejects: [Line]
        var duplicates: Int
        var cleaning: CleaningCounts
        var corruptObjects: [String]

        /// Rejected lines plus one reject per undecodable object.
        var rejectCount: Int { rejects.count + corruptObjects.count }
    }

    /// What pin-batch must produce for `date`: valid lines in input order (objects by key), one per
    /// unique_id (the higher offset when both copies have one, else the later line), cleaned.
    func expected(date: String) -> Expected {
        let ordered = (lines[date] ?? []).sorted {
            ($0.object.utf8.lexicographicallyPrecedes($1.object.utf8)) || ($0.object == $1.object && $0.line < $1.line)
        }
        var valid: [(pin: RawPin, offset: Int64?)] = []
        var rejects: [Line] = []
        for line in ordered {
            if let pin = try? RawPin(parsing: Array(line.text.utf8)) {
                valid.append((pin, line.offset))
            } else {
                rejects.append(line)
            }
        }
        var winner: [String: Int] = [:]
        for (index, entry) in valid.enumerated() {
            if let held = winner[entry.pin.uniqueID], let heldOffset = valid[held].offset, let offset = entry.offset,
                heldOffset > offset
            {
                continue
            }
            winner[entry.pin.uniqueID] = index
        }
        var cleaner = PinCleaner()
        let rows = valid.indices.filter { winner[valid[$0].pin.uniqueID] == $0 }.map { cleaner.clean(valid[$0].pin) }
        return Expected(
            rows: rows, rowsIn: ordered.count, rejects: rejects, duplicates: valid.count - rows.count,
            cleaning: cleaner.counts, corruptObjects: corrupt[date] ?? [])
    }
}
