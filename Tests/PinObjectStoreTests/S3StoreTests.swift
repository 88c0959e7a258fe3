import Foundation
import Testing

@testable import PinObjectStore

/// S3Store against a real S3 API (moto locally; AWS_ENDPOINT_URL_S3 picks another).
@Suite struct S3StoreTests {
    @Test func putGetHeadDelete() async throws {
        let store = try await TestS3.freshBucket("basic")
        let key = "raw/pinterest_topic/dt=2024-01-01/pinterest_topic+0+00000000000000000042.jsonl"
        let body = Array("{\"index\":1}\n{\"index\":2}\n".utf8)
        let before = Date()
        try await store.put(key, bytes: body)

        #expect(try await store.get(key) == body)
        let info = try #require(try await store.head(key))
        #expect(info.key == key)
        #expect(info.size == Int64(body.count))
        #expect(info.etag == Digest.hex(body.withUnsafeBytes { Digest.md5($0) }))
        let modified = try #require(info.lastModified)
        #expect(abs(modified.timeIntervalSince(before)) < 120)

        try await store.put(key, bytes: [])  // replace with an empty object
        #expect(try await store.get(key) == [])
        #expect(try await store.head(key)?.size == 0)

        try await store.delete(key)
        #expect(try await store.head(key) == nil)
        try await store.delete(key)  // deleting a missing object is fine
        await #expect {
            _ = try await store.get(key)
        } throws: { error in
            (error as? ObjectStoreError)?.kind == .noSuchKey && (error as? ObjectStoreError)?.code == "NoSuchKey"
        }
    }

    @Test func streamingGetAndDownload() async throws {
        let store = try await TestS3.freshBucket("stream")
        let body = TestS3.bytes(count: 3 << 20, seed: 7)
        try await store.put("blob.bin", bytes: body)

        var received: [UInt8] = []
        var chunks = 0
        try await store.get("blob.bin") { chunk in
            received.append(contentsOf: chunk)
            chunks += 1
        }
        #expect(received == body)
        #expect(chunks > 1)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent(TestS3.randomName("download")).path
        defer { unlink(path) }
        try await store.download("blob.bin", toFile: path)
        #expect(FileManager.default.contents(atPath: path) == Data(body))

        // A handler's error ends the transfer and reaches the caller unchanged.
        struct Stop: Error {}
        await #expect(throws: Stop.self) {
            try await store.get("blob.bin") { _ in throw Stop() }
        }
    }

    @Test func keysWithSpacesUnicodeAndReservedCharacters() async throws {
        let store = try await TestS3.freshBucket("keys")
        let keys = [
            "with space/a b.json", "unicode/ünïcødé 日本語.json", "plus+sign=equals.json",
            "topic/dt=2024-01-01/topic+3+00000000000000000007.jsonl",
            "reserved/!$&'()*,;:@~%.txt", "query?and#hash.txt",
        ]
        for (index, key) in keys.enumerated() {
            try await store.put(key, bytes: Array("object \(index)".utf8))
        }
        for (index, key) in keys.enumerated() {
            #expect(try await store.get(key) == Array("object \(index)".utf8), "get \(key)")
            #expect(try await store.head(key)?.size == Int64("object \(index)".utf8.count), "head \(key)")
        }
        let listed = try await store.list(prefix: "").map(\.key)
        #expect(listed == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(try await store.list(prefix: "plus+").map(\.key) == ["plus+sign=equals.json"])
        #expect(try await store.list(prefix: "unicode/ünï").map(\.key) == ["unicode/ünïcødé 日本語.json"])
        try await store.delete(keys: keys)
        #expect(try await store.list(prefix: "").isEmpty)
    }

    @Test func listPastOneThousandKeysAndBatchDelete() async throws {
        let store = try await TestS3.freshBucket("many")
        let keys = (0..<1050).map { String(format: "many/dt=2024-01-01/part-%05d.jsonl", $0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let key = keys[next]
                next += 1
                group.addTask { try await store.put(key, bytes: Array(key.utf8)) }
            }
            for _ in 0..<16 { add() }
            while try await group.next() != nil {
                if next < keys.count { add() }
            }
        }
        try await store.put("many/dt=2024-01-02/other.jsonl", bytes: [1])
        try await store.put("many/_SUCCESS", bytes: [])

        let listed = try await store.list(prefix: "many/dt=2024-01-01/")
        #expect(listed.count == 1050)
        #expect(listed.map(\.key) == keys)
        #expect(listed.allSatisfy { $0.size == Int64($0.key.utf8.count) && $0.etag != nil && $0.lastModified != nil })

        let folders = try await store.list(prefix: "many/", delimiter: "/")
        #expect(folders.commonPrefixes == ["many/dt=2024-01-01/", "many/dt=2024-01-02/"])
        #expect(folders.objects.map(\.key) == ["many/_SUCCESS"])

        try await store.delete(keys: keys)
        #expect(try await store.list(prefix: "many/dt=2024-01-01/").isEmpty)
        #expect(try await store.list(prefix: "many/").count == 2)
        #expect(try await store.deleteAll(prefix: "many/") == 2)
        #expect(try await store.list(prefix: "").isEmpty)
    }

    @Test func multipartUploadFromMemoryAndFromFile() async throws {
        let store = try await TestS3.freshBucket("multipart") { configuration in
            configuration.multipartThreshold = 5 << 20
            configuration.partSize = 5 << 20
        }
        let body = TestS3.bytes(count: (11 << 20) + 12345, seed: 42)
        try await store.put("memory.bin", bytes: body)
        #expect(try await store.get("memory.bin") == body)
        let info = try #require(try await store.head("memory.bin"))
        #expect(info.size == Int64(body.count))
        #expect(info.etag?.hasSuffix("-3") == true)  // three parts

        let path = FileManager.default.temporaryDirectory.appendingPathComponent(TestS3.randomName("upload")).path
        defer { unlink(path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(body)))
        try await store.put("file.bin", contentsOfFile: path)
        #expect(try await store.get("file.bin") == body)
        #expect(try await store.head("file.bin")?.etag == info.etag)

        // Exactly one part's worth stays a single PUT.
        try await store.put("small.bin", bytes: Array(body.prefix(5 << 20)))
        #expect(try await store.head("small.bin")?.etag?.contains("-") == false)
    }

    @Test func missingBucketIsATypedError() async throws {
        let store = try S3Store(bucket: TestS3.randomName("absent"), configuration: TestS3.configuration())
        for operation in ["put", "get", "list"] {
            await #expect {
                switch operation {
                case "put": try await store.put("a.json", bytes: [1])
                case "get": _ = try await store.get("a.json")
                default: _ = try await store.list(prefix: "")
                }
            } throws: { error in
                guard let error = error as? ObjectStoreError else { return false }
                return error.kind == .noSuchBucket && error.code == "NoSuchBucket" && error.httpStatus == 404
                    && error.description.contains(store.bucket) && error.description.contains("NoSuchBucket")
            }
        }
    }

    @Test func unreachableEndpointFailsAfterBoundedRetries() async throws {
        var configuration = S3Configuration(
            credentials: .init(accessKeyID: "AKID", secretAccessKey: "very-secret-value"),
            endpoint: "http://127.0.0.1:1")
        configuration.retry = RetryPolicy(maxAttempts: 3, initialDelay: 0.05, maxDelay: 0.1)
        let store = try S3Store(bucket: "nowhere", configuration: configuration)
        let start = Date()
        do {
            _ = try await store.get("x")
            Issue.record("expected a connection failure")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .connectionFailed)
            #expect(error.isTransient)
            #expect(error.description.contains("after 3 attempts"))
            #expect(!error.description.contains("very-secret-value"))
        }
        // Two backoff pauses (25–50 ms, then 50–100 ms): bounded, not instant, even on a loaded machine.
        #expect(Date().timeIntervalSince(start) >= 0.05)
        #expect(Date().timeIntervalSince(start) < 300)
    }

    @Test func openFromLocation() async throws {
        let bucket = TestS3.randomName("location")
        let (store, prefix) = try ObjectStores.open(
            location: "s3://\(bucket)/raw/pinterest_topic", environment: TestS3.environment)
        #expect(prefix == "raw/pinterest_topic/")
        let s3 = try #require(store as? S3Store)
        #expect(s3.bucket == bucket)
        try await s3.createBucket()
        try await store.put(prefix + "dt=2024-01-01/a.jsonl", bytes: [1, 2, 3])
        #expect(try await store.list(prefix: prefix).map(\.key) == ["raw/pinterest_topic/dt=2024-01-01/a.jsonl"])
        #expect(store.describe(prefix + "x") == "s3://\(bucket)/raw/pinterest_topic/x")
    }
}
