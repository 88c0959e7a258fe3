import Foundation
import Testing

@testable import PinObjectStore

@Suite struct LocalDirectoryStoreTests {
    /// A fresh store in a new temporary directory, removed afterwards by the caller.
    static func freshStore() -> LocalDirectoryStore {
        LocalDirectoryStore(
            root: FileManager.default.temporaryDirectory.appendingPathComponent(TestS3.randomName("local")).path)
    }

    /// Every file under the root, temporary ones included.
    static func allFiles(_ root: String) -> [String] {
        (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }.sorted()
    }

    @Test func putGetHeadDelete() async throws {
        let store = Self.freshStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let key = "raw/pinterest_topic/dt=2024-01-01/pinterest_topic+0+00000000000000000042.jsonl"
        let body = Array("{\"index\":1}\n".utf8)
        #expect(try await store.head(key) == nil)
        #expect(try await store.list(prefix: "").isEmpty)  // root does not exist yet

        try await store.put(key, bytes: body)
        #expect(try await store.get(key) == body)
        #expect(FileManager.default.contents(atPath: store.root + "/" + key) == Data(body))
        let info = try #require(try await store.head(key))
        #expect(info.size == Int64(body.count) && info.key == key && info.lastModified != nil)
        #expect(store.describe(key) == store.root + "/" + key)

        try await store.put(key, bytes: [])
        #expect(try await store.get(key) == [])

        try await store.delete(key)
        #expect(try await store.head(key) == nil)
        try await store.delete(key)
        // Emptied directories go too, the root stays.
        #expect(!FileManager.default.fileExists(atPath: store.root + "/raw"))
        #expect(FileManager.default.fileExists(atPath: store.root))
        await #expect {
            _ = try await store.get(key)
        } throws: { ($0 as? ObjectStoreError)?.kind == .noSuchKey }
    }

    @Test func listIsRecursiveSortedAndFiltersByPrefix() async throws {
        let store = Self.freshStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let keys = [
            "t/dt=2024-01-02/t+0+00000000000000000000.jsonl", "t/dt=2024-01-01/t+1+00000000000000000005.jsonl.gz",
            "t/dt=2024-01-01/t+0+00000000000000000010.jsonl", "t/dt=2024-01-01/t+0+00000000000000000000.jsonl.zst",
            "t/_SUCCESS", "other.json", "unicode/ünï code+=.json",
        ]
        for key in keys { try await store.put(key, bytes: Array(key.utf8)) }
        let sorted = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(try await store.list(prefix: "").map(\.key) == sorted)
        #expect(
            try await store.list(prefix: "t/dt=2024-01-01/").map(\.key) == [
                "t/dt=2024-01-01/t+0+00000000000000000000.jsonl.zst", "t/dt=2024-01-01/t+0+00000000000000000010.jsonl",
                "t/dt=2024-01-01/t+1+00000000000000000005.jsonl.gz",
            ])
        // A prefix may end inside a file name, as S3's does.
        #expect(try await store.list(prefix: "t/dt=2024-01-01/t+0+").count == 2)
        #expect(try await store.list(prefix: "t/dt=2024-01").count == 4)
        #expect(try await store.list(prefix: "missing/").isEmpty)
        #expect(try await store.list(prefix: "t/").allSatisfy { $0.size == Int64($0.key.utf8.count) })

        let folders = try await store.list(prefix: "t/", delimiter: "/")
        #expect(folders.commonPrefixes == ["t/dt=2024-01-01/", "t/dt=2024-01-02/"])
        #expect(folders.objects.map(\.key) == ["t/_SUCCESS"])

        try await store.delete(keys: ["t/dt=2024-01-01/t+0+00000000000000000010.jsonl", "t/_SUCCESS", "never/was.json"])
        #expect(try await store.list(prefix: "t/").count == 3)
        #expect(try await store.deleteAll(prefix: "") == 5)
        #expect(Self.allFiles(store.root).isEmpty)
    }

    @Test func putFromFileAndStreamingGet() async throws {
        let store = Self.freshStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let body = TestS3.bytes(count: (3 << 20) + 17, seed: 3)
        let source = FileManager.default.temporaryDirectory.appendingPathComponent(TestS3.randomName("source")).path
        defer { unlink(source) }
        #expect(FileManager.default.createFile(atPath: source, contents: Data(body)))

        try await store.put("copy/of/source.bin", contentsOfFile: source)
        var received: [UInt8] = []
        var chunks = 0
        try await store.get("copy/of/source.bin") { chunk in
            received += chunk
            chunks += 1
        }
        #expect(received == body)
        #expect(chunks == 4)
        await #expect {
            try await store.put("x.bin", contentsOfFile: source + ".missing")
        } throws: { ($0 as? ObjectStoreError)?.kind == .noSuchKey }
        #expect(Self.allFiles(store.root) == ["copy/of/source.bin"])
    }

    /// Readers racing a writer see whole objects only, and no temporary file ever shows in a listing.
    @Test func putIsAtomic() async throws {
        let store = Self.freshStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let size = 2 << 20
        let versions = (0..<6).map { TestS3.bytes(count: size, seed: UInt64($0) + 100) }
        try await store.put("dir/object.bin", bytes: versions[0])

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for version in versions.dropFirst() { try await store.put("dir/object.bin", bytes: version) }
            }
            group.addTask {
                for _ in 0..<40 {
                    let listed = try await store.list(prefix: "")
                    #expect(listed.map(\.key) == ["dir/object.bin"])
                    #expect(listed.first?.size == Int64(size))
                    let bytes = try await store.get("dir/object.bin")
                    #expect(versions.contains(bytes))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.get("dir/object.bin") == versions.last)
        #expect(Self.allFiles(store.root) == ["dir/object.bin"])
    }

    /// A staged object is on disk but invisible until published; published ones appear in the
    /// order chosen, whatever order they were staged in; a discarded one leaves nothing behind.
    @Test func stagedObjectsAppearOnlyWhenPublished() async throws {
        let store = Self.freshStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        let bodies = (0..<3).map { TestS3.bytes(count: 1000 + $0, seed: UInt64($0) + 7) }
        let second = try store.stage("t/dt=2024-01-01/b", bytes: bodies[1])
        let first = try store.stage("t/dt=2024-01-01/a", bytes: bodies[0])
        let dropped = try store.stage("t/dt=2024-01-02/c", bytes: bodies[2])
        #expect(try await store.list(prefix: "").isEmpty)
        #expect(try await store.head("t/dt=2024-01-01/a") == nil)
        #expect(Self.allFiles(store.root).count == 3)  // written, under hidden names
        #expect(FileManager.default.contents(atPath: first.temporaryPath) == Data(bodies[0]))

        try store.publish(first)
        #expect(try await store.list(prefix: "").map(\.key) == ["t/dt=2024-01-01/a"])
        try store.publish(second)
        store.discard(dropped)
        #expect(try await store.list(prefix: "").map(\.key) == ["t/dt=2024-01-01/a", "t/dt=2024-01-01/b"])
        #expect(try await store.get("t/dt=2024-01-01/b") == bodies[1])
        #expect(Self.allFiles(store.root) == ["t/dt=2024-01-01/a", "t/dt=2024-01-01/b"])
        #expect(throws: ObjectStoreError.self) { try store.stage("../escape", bytes: []) }
    }

    /// Temporary files of writers killed mid-write go once old enough; fresh ones and objects stay.
    @Test func oldTemporaryFilesAreRemoved() async throws {
        let store = Self.freshStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        try await store.put("t/dt=2024-01-01/a", bytes: [1])
        let old = try store.stage("t/dt=2024-01-01/b", bytes: [2])
        let fresh = try store.stage("t/dt=2024-01-02/c", bytes: [3])
        let other = try store.stage("u/d", bytes: [4])
        let twoHoursAgo = Date().addingTimeInterval(-7200)
        for path in [old.temporaryPath, other.temporaryPath] {
            try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: path)
        }
        #expect(try store.removeTemporaryFiles(under: "t/", olderThan: 3600) == 1)
        #expect(!FileManager.default.fileExists(atPath: old.temporaryPath))
        #expect(FileManager.default.fileExists(atPath: fresh.temporaryPath))
        #expect(FileManager.default.fileExists(atPath: other.temporaryPath))  // not under the prefix
        #expect(try await store.list(prefix: "").map(\.key) == ["t/dt=2024-01-01/a"])
    }

    @Test func keysCannotEscapeTheRoot() async throws {
        let store = Self.freshStore()
        defer { try? FileManager.default.removeItem(atPath: store.root) }
        for key in ["../escape.json", "a/../../b", "/absolute", "a//b", "", "a/./b", "x/.pinpipe-tmp.abc"] {
            await #expect("key \(key)") {
                try await store.put(key, bytes: [1])
            } throws: { ($0 as? ObjectStoreError)?.kind == .invalidKey }
        }
        #expect(Self.allFiles(store.root).isEmpty)
    }
}
