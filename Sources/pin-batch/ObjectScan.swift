import PinCompression
import PinCore
import PinObjectStore

/// What the first pass learns from one input object, line by line: each valid record's id, each
/// invalid line's reason. Objects are scanned side by side and their scans taken in object order,
/// so the outcome is the same as reading them one after the other.
struct ObjectScan: Sendable {
    enum Line: Sendable {
        case valid(Deduplicator.ID, line: Int)
        case invalid(line: Int, reason: String, raw: [UInt8])
    }

    /// The object's non-blank lines, in order.
    var lines: [Line] = []
    /// Why the object could not be read to its end (bad compression, an overlong line), if so;
    /// the lines before the damage still count.
    var unreadable: String?

    static func scan(_ object: SourceObject, in store: any ObjectStore) async throws -> ObjectScan {
        var scan = ObjectScan()
        do {
            try await ObjectLineReader(store: store).forEachLine(of: object) { line, bytes in
                try ShutdownSignal.check()
                if let uniqueID = RawPin.validatedUniqueID(in: bytes) {
                    scan.lines.append(.valid(Deduplicator.ID(uniqueID), line: line))
                    return
                }
                do throws(RecordError) {
                    var uniqueID = try RawPin(parsing: bytes).uniqueID
                    scan.lines.append(.valid(uniqueID.withUTF8 { Deduplicator.ID($0) }, line: line))
                } catch {
                    scan.lines.append(.invalid(line: line, reason: error.description, raw: Array(bytes)))
                }
            }
        } catch let error where error is CompressionError || error is LineSplitter.LineTooLong {
            scan.unreadable = "\(error)"
        }
        return scan
    }

    /// Scans `objects` two at a time (a core each) and hands the scans to `body` in object order.
    /// At most a few scans are held at once, so memory stays bounded by a few objects' ids.
    static func scan(
        _ objects: [SourceObject], in store: any ObjectStore, _ body: (Int, ObjectScan) throws -> Void
    ) async throws {
        let parallel = 2
        let window = 4
        try await withThrowingTaskGroup(of: (Int, ObjectScan).self) { group in
            var started = 0
            var delivered = 0
            var done: [Int: ObjectScan] = [:]
            func start() {
                let number = started
                let object = objects[number]
                group.addTask { (number, try await scan(object, in: store)) }
                started += 1
            }
            while started < min(parallel, objects.count) { start() }
            while delivered < objects.count {
                guard let (number, scan) = try await group.next() else { break }
                done[number] = scan
                while let next = done.removeValue(forKey: delivered) {
                    try body(delivered, next)
                    delivered += 1
                }
                // Keep two scans running, unless too many finished ones wait for a slow one.
                while started < objects.count, started - delivered < window,
                    started - delivered - done.count < parallel
                {
                    start()
                }
            }
        }
    }
}
