import Foundation
import Testing

@testable import PinObjectStore

/// Retries and error mapping against a server that fails on purpose (fake_s3_server.py).
@Suite(.serialized) struct S3StoreRetryTests {
    final class FakeServer {
        let process = TestPython.process(script: "fake_s3_server.py")
        let stdin = Pipe()
        let port: Int

        init() throws {
            let stdout = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            try process.run()
            var line = Data()
            while let byte = try stdout.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8)
            {
                line += byte
            }
            port = Int(String(decoding: line, as: UTF8.self)) ?? 0
        }

        /// Closing stdin ends the server.
        func stop() {
            try? stdin.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    static let secret = "fake-secret-DO-NOT-PRINT"

    static func store(_ server: FakeServer, attempts: Int) throws -> S3Store {
        var configuration = S3Configuration(
            credentials: .init(
                accessKeyID: "AKIDFAKE", secretAccessKey: secret, sessionToken: "fake-token-DO-NOT-PRINT"),
            endpoint: "http://127.0.0.1:\(server.port)")
        configuration.retry = RetryPolicy(maxAttempts: attempts, initialDelay: 0.01, maxDelay: 0.05)
        return try S3Store(bucket: "bucket", configuration: configuration)
    }

    static func requests(_ store: S3Store, _ key: String) async throws -> Int {
        Int(String(decoding: try await store.get("_count/" + key), as: UTF8.self)) ?? -1
    }

    @Test func transientErrorsAreRetriedThenSucceed() async throws {
        let server = try FakeServer()
        defer { server.stop() }
        #expect(server.port > 0)
        let store = try Self.store(server, attempts: 4)
        #expect(try await store.get("slowdown-3/a.json") == Array("ok".utf8))
        #expect(try await Self.requests(store, "slowdown-3/a.json") == 4)
        try await store.put("error500-2/b.json", bytes: Array("body".utf8))
        #expect(try await Self.requests(store, "error500-2/b.json") == 3)
        #expect(try await store.head("throttle429-1/c.json")?.size == 2)
        #expect(try await Self.requests(store, "throttle429-1/c.json") == 2)
    }

    @Test func retriesAreBounded() async throws {
        let server = try FakeServer()
        defer { server.stop() }
        let store = try Self.store(server, attempts: 3)
        await #expect {
            _ = try await store.get("slowdown-10/a.json")
        } throws: { error in
            guard let error = error as? ObjectStoreError else { return false }
            return error.kind == .throttled && error.code == "SlowDown" && error.httpStatus == 503
                && error.requestID == "REQ123"
        }
        #expect(try await Self.requests(store, "slowdown-10/a.json") == 3)
    }

    @Test func permanentErrorsAreTypedAndNotRetried() async throws {
        let server = try FakeServer()
        defer { server.stop() }
        let store = try Self.store(server, attempts: 5)
        let cases: [(String, ObjectStoreError.Kind, String)] = [
            ("denied/a.json", .accessDenied, "AccessDenied"),
            ("badkey/a.json", .invalidAccessKeyID, "InvalidAccessKeyId"),
            ("badsignature/a.json", .signatureDoesNotMatch, "SignatureDoesNotMatch"),
        ]
        for (key, kind, code) in cases {
            do {
                _ = try await store.get(key)
                Issue.record("\(key) should fail")
            } catch let error as ObjectStoreError {
                #expect(error.kind == kind && error.code == code && error.httpStatus == 403)
                #expect(!error.isTransient)
                #expect(error.description.contains("s3://bucket/\(key)") && error.description.contains(code))
                let everything = "\(error) \(String(reflecting: error))"
                #expect(!everything.contains("DO-NOT-PRINT"), "secret in \(everything)")
            }
            #expect(try await Self.requests(store, key) == 1)
        }
    }

    @Test func connectionsAreKeptAlive() async throws {
        let server = try FakeServer()
        defer { server.stop() }
        let store = try Self.store(server, attempts: 1)
        for index in 0..<20 {
            try await store.put("plain/\(index).json", bytes: Array("{}".utf8))
            #expect(try await store.get("plain/\(index).json") == Array("ok".utf8))
        }
        #expect(store.connectionsOpened == 1)
    }

    /// A download that breaks part-way resumes with a range request for the same version.
    @Test func brokenDownloadsResume() async throws {
        let server = try FakeServer()
        defer { server.stop() }
        let store = try Self.store(server, attempts: 5)
        let expected = (0..<1000).map { UInt8($0 % 251) }

        var streamed: [UInt8] = []
        try await store.get("cutoff/a.bin") { streamed += $0 }
        #expect(streamed == expected)
        #expect(try await Self.requests(store, "cutoff/a.bin") == 3)

        #expect(try await store.get("cutoff/b.bin") == expected)
        // A server that ignores the range: the part already delivered is skipped, not repeated.
        #expect(try await store.get("ignorerange/c.bin") == expected)
        #expect(try await Self.requests(store, "ignorerange/c.bin") == 2)

        // The object changed in between: resuming would mix two versions, so it fails instead.
        await #expect {
            _ = try await store.get("changed/d.bin")
        } throws: { ($0 as? ObjectStoreError)?.code == "PreconditionFailed" }
    }

    /// Cancelling the task stops a transfer in flight and a backoff pause, within about a second.
    @Test func cancellationStopsTransfersAndBackoff() async throws {
        let server = try FakeServer()
        defer { server.stop() }
        let store = try Self.store(server, attempts: 5)
        var start = Date()
        let download = Task { try await store.get("slow/a.bin") }
        try await Task.sleep(for: .milliseconds(300))
        download.cancel()
        await #expect(throws: CancellationError.self) { _ = try await download.value }
        #expect(Date().timeIntervalSince(start) < 20)

        var configuration = store.configuration
        configuration.retry = RetryPolicy(maxAttempts: 5, initialDelay: 60, maxDelay: 60)
        let patient = try S3Store(bucket: "bucket", configuration: configuration)
        start = Date()
        let retrying = Task { try await patient.get("slowdown-100/b.json") }
        try await Task.sleep(for: .milliseconds(300))
        retrying.cancel()
        await #expect(throws: CancellationError.self) { _ = try await retrying.value }
        #expect(Date().timeIntervalSince(start) < 20)
        #expect(try await Self.requests(store, "slowdown-100/b.json") == 1)
    }

    /// A refused part fails the whole upload, and the upload is aborted.
    @Test func failedMultipartUploadIsAborted() async throws {
        let server = try FakeServer()
        defer { server.stop() }
        var configuration = try Self.store(server, attempts: 2).configuration
        configuration.multipartThreshold = 5 << 20
        configuration.partSize = 5 << 20
        let store = try S3Store(bucket: "bucket", configuration: configuration)
        await #expect {
            try await store.put("failpart/big.bin", bytes: TestS3.bytes(count: 16 << 20, seed: 5))
        } throws: { error in
            (error as? ObjectStoreError)?.code == "InvalidArgument" && (error as? ObjectStoreError)?.httpStatus == 400
        }
        #expect(try await Self.requests(store, "aborted/failpart/big.bin") == 1)
    }
}
