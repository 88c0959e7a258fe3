import Foundation
import PinArchive
import PinCompression
import PinObjectStore
import Testing

@Suite struct ArchiveRecoveryTests {
    let root = NSTemporaryDirectory() + "archive-recovery-\(UInt64.random(in: 0...UInt64.max))"
    var store: LocalDirectoryStore { LocalDirectoryStore(root: root) }

    func put(
        _ partition: Int32, _ first: Int64, lines: Int, date: String = "2024-05-01", topic: String = "pins",
        format: StreamFormat = .none
    ) async throws {
        let name = ArchiveObjectName(topic: topic, partition: partition, firstOffset: first, date: date, format: format)
        let bytes = (0..<lines).flatMap { Array("{\"n\":\(first + Int64($0))}\n".utf8) }
        try await store.put(name.key(prefix: "raw/"), bytes: try Compressor.compress(bytes, format: format))
    }

    @Test func namesAreZeroPaddedAndParseBack() throws {
        let name = ArchiveObjectName(topic: "pins", partition: 2, firstOffset: 1234, date: "2024-05-01")
        let key = name.key(prefix: "raw/")
        #expect(key == "raw/pins/dt=2024-05-01/pins+2+00000000000000001234.jsonl")
        #expect(ArchiveObjectName(key: key, topic: "pins") == name)
        #expect(
            ArchiveObjectName(key: "raw/pins/dt=2024-05-01/pinsx+2+00000000000000001234.jsonl", topic: "pins") == nil)
        #expect(ArchiveObjectName(key: "raw/pins/dt=2024-05-01/pins+2+1234.jsonl", topic: "pins") == nil)
    }

    @Test(arguments: StreamFormat.allCases) func compressedNamesParseBack(format: StreamFormat) throws {
        let name = ArchiveObjectName(topic: "pins", partition: 0, firstOffset: 7, date: "2024-05-01", format: format)
        let key = name.key(prefix: "raw/")
        #expect(key == "raw/pins/dt=2024-05-01/pins+0+00000000000000000007.jsonl\(format.fileExtension)")
        #expect(ArchiveObjectName(key: key, topic: "pins") == name)
        #expect(ArchiveObjectName(key: key, topic: "pins")?.format == format)
    }

    @Test func otherSuffixesAreNotArchiveObjects() {
        for file in [
            "pins+0+00000000000000000007.json", "pins+0+00000000000000000007.jsonl.snappy",
            "pins+0+00000000000000000007.gz", "pins+0+00000000000000000007.jsonl.zstd",
        ] {
            #expect(ArchiveObjectName(key: "raw/pins/dt=2024-05-01/" + file, topic: "pins") == nil, "\(file)")
        }
    }

    @Test(arguments: [StreamFormat.gzip, .zstd]) func recoveryCountsLinesOfCompressedObjects(format: StreamFormat)
        async throws
    {
        try await put(0, 0, lines: 10, format: format)
        try await put(0, 10, lines: 5000, format: format)  // stored, commit lost; several read chunks once inflated
        try await put(1, 3, lines: 4)  // uncompressed objects still count
        try await put(1, 7, lines: 6, format: format)
        let recovery = ArchiveRecovery(store: store, prefix: "raw/")
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 0, committed: 10) == 5010)
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 0, committed: 5010) == nil)
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 1, committed: nil) == 13)
        let objects = try await recovery.objects(topic: "pins", partition: 1).map(\.name.format)
        #expect(objects == [.none, format])
    }

    @Test func utcDates() {
        #expect(ArchiveObjectName.date(milliseconds: 0) == "1970-01-01")
        #expect(ArchiveObjectName.date(milliseconds: 1_709_251_199_999) == "2024-02-29")
        #expect(ArchiveObjectName.date(milliseconds: 1_709_251_200_000) == "2024-03-01")
        #expect(ArchiveObjectName.date(milliseconds: -1) == "1969-12-31")
    }

    @Test func nothingStoredKeepsTheCommittedOffset() async throws {
        let recovery = ArchiveRecovery(store: store, prefix: "raw/")
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 0, committed: nil) == nil)
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 0, committed: 42) == nil)
    }

    @Test func objectsBehindTheCommittedOffsetDoNotMove() async throws {
        try await put(0, 0, lines: 10)
        try await put(0, 10, lines: 5)
        let recovery = ArchiveRecovery(store: store, prefix: "raw/")
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 0, committed: 15) == nil)
    }

    @Test func uncommittedObjectsMoveTheStartPastTheNewest() async throws {
        try await put(0, 0, lines: 10)
        try await put(0, 10, lines: 5, date: "2024-05-02")  // stored, commit lost
        try await put(0, 15, lines: 3, date: "2024-05-02")  // stored, commit lost
        try await put(1, 100, lines: 7)  // another partition
        try await put(0, 500, lines: 1, topic: "other")  // another topic
        let recovery = ArchiveRecovery(store: store, prefix: "raw/")
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 0, committed: 10) == 18)
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 0, committed: nil) == 18)
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 1, committed: 50) == 107)
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 1, committed: 107) == nil)
        #expect(try await recovery.resumeOffset(topic: "pins", partition: 2, committed: 0) == nil)
        let objects = try await recovery.objects(topic: "pins", partition: 0).map(\.name.firstOffset)
        #expect(objects == [0, 10, 15])
    }
}
