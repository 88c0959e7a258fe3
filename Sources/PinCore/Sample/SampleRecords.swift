import Foundation

/// The real sample of 1,543 pins shipped with the tools, or any NDJSON file of raw pins.
public enum SampleRecords {
    /// The bundled sample's path, if the resources are next to the executable.
    public static var bundledPath: String? {
        Bundle.module.url(forResource: "pins", withExtension: "jsonl")?.path
    }

    /// Loads every valid raw pin of an NDJSON file; invalid lines are an error naming the line.
    public static func load(path: String) throws -> [RawPin] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SystemError(operation: "open \(path)", errno: errno) }
        defer { close(fd) }
        var pins: [RawPin] = []
        var reader = LineReader(fileDescriptor: fd, name: path)
        try reader.forEachLine { number, line in
            do {
                pins.append(try RawPin(parsing: line))
            } catch {
                throw SampleError(description: "\(path):\(number): \(error)")
            }
        }
        return pins
    }
}

public struct SampleError: Error, CustomStringConvertible {
    public var description: String
}
