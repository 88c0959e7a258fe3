import PinCompression
import PinObjectStore

/// Finds where a partition's durable archive ends, so a restarted consumer neither re-archives
/// nor skips anything (and never cuts an object that overlaps an existing one).
///
/// Objects are written before the offset after them is committed. So the objects whose first
/// offset is at or after the committed offset were written by a run that stopped before
/// committing; the newest of them (largest first offset F, N lines) ends the durable data, and the
/// partition resumes at F + N. That assumes offsets inside the object are contiguous, which holds
/// for topics without compaction or transactions (the ones this tool archives).
public struct ArchiveRecovery: Sendable {
    public let store: any ObjectStore
    public let prefix: String

    public init(store: any ObjectStore, prefix: String) {
        self.store = store
        self.prefix = prefix
    }

    /// The existing objects of one partition, sorted by first offset.
    public func objects(topic: String, partition: Int32) async throws -> [(name: ArchiveObjectName, key: String)] {
        try await store.list(prefix: ArchiveObjectName.topicFolder(prefix: prefix, topic: topic))
            .compactMap { info in
                guard let name = ArchiveObjectName(key: info.key, topic: topic), name.partition == partition else {
                    return nil
                }
                return (name, info.key)
            }
            .sorted { $0.name.firstOffset < $1.name.firstOffset }
    }

    /// The offset to resume `partition` at, or nil to keep the committed offset (no archived data
    /// beyond it). `committed` nil means the group has no committed offset yet.
    public func resumeOffset(topic: String, partition: Int32, committed: Int64?) async throws -> Int64? {
        let floor = committed ?? 0
        guard
            let newest = try await objects(topic: topic, partition: partition).last(where: {
                $0.name.firstOffset >= floor
            })
        else { return nil }
        // Compressed objects are decompressed chunk by chunk to count their lines.
        let decompressor = try Decompressor(format: newest.name.format)
        var lines: Int64 = 0
        var plain: [UInt8] = []
        try await store.get(newest.key) { chunk in
            plain.removeAll(keepingCapacity: true)
            try decompressor.decompress(chunk, into: &plain)
            for byte in plain where byte == 0x0A { lines += 1 }
        }
        try decompressor.finish()
        return newest.name.firstOffset + lines
    }
}
