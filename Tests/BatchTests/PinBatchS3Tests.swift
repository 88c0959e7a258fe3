import Foundation
import PinObjectStore
import Testing

/// Runs the built pin-batch with source and destination in S3 (AWS_ENDPOINT_URL_S3, default the local stack's moto).
@Suite struct PinBatchS3Tests {
    static var environment: [String: String] {
        var environment: [String: String] = [:]
        let current = ProcessInfo.processInfo.environment
        if current["AWS_ENDPOINT_URL_S3", default: ""].isEmpty && current["AWS_ENDPOINT_URL", default: ""].isEmpty {
            environment["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:19000"
        }
        if current["AWS_ACCESS_KEY_ID", default: ""].isEmpty || current["AWS_SECRET_ACCESS_KEY", default: ""].isEmpty {
            environment["AWS_ACCESS_KEY_ID"] = "test"
            environment["AWS_SECRET_ACCESS_KEY"] = "test"
        }
        if current["AWS_REGION", default: ""].isEmpty && current["AWS_DEFAULT_REGION", default: ""].isEmpty {
            environment["AWS_REGION"] = "us-east-1"
        }
        return environment
    }

    @Test func readsAndWritesS3() async throws {
        let environment = ProcessInfo.processInfo.environment.merging(Self.environment) { $1 }
        let bucket = "pinpipe-batch-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let store = try S3Store(bucket: bucket, configuration: S3Configuration.fromEnvironment(environment))
        try await store.createBucket()
        let fixture = try RawFixture.standard()
        for (key, bytes) in fixture.objects { try await store.put("raw/\(RawFixture.topic)/\(key)", bytes: bytes) }

        let date = RawFixture.firstDate
        let result = try BatchTool.run(
            [
                "--source", "s3://\(bucket)/raw/\(RawFixture.topic)", "--dest", "s3://\(bucket)/clean",
                "--date", date, "--part-rows", "40",
            ],
            environment: Self.environment)
        #expect(result.status == 65, "\(result.stderr)")

        let keys = try await store.list(prefix: "clean/").map(\.key)
        let parts = keys.filter { $0.hasPrefix("clean/dt=\(date)/part-") }
        #expect(parts.count == 2)
        #expect(keys.contains("clean/dt=\(date)/_SUCCESS"))
        #expect(keys.contains("clean/_rejected/dt=\(date)/rejects.ndjson"))
        #expect(!keys.contains { $0.hasPrefix("clean/dt=\(RawFixture.secondDate)/") })

        let local = try temporaryDirectory("pin-batch-s3")
        defer { try? FileManager.default.removeItem(at: local) }
        var paths: [String] = []
        for key in parts.sorted() {
            let path = local.appendingPathComponent(String(key.split(separator: "/").last!)).path
            try await store.download(key, toFile: path)
            paths.append(path)
        }
        let expected = fixture.expected(date: date)
        let rows = try BatchTool.parquetRows(paths, reader: "pyarrow").map(Cell.row(json:))
        #expect(rows == expected.rows.map(Cell.row))

        let report =
            try JSONSerialization.jsonObject(with: Data(await store.get("clean/dt=\(date)/_REPORT.json")))
            as? [String: Any] ?? [:]
        #expect(report["rows_out"] as? Int == expected.rows.count)
        #expect(report["rejects"] as? Int == expected.rejectCount)
        #expect(report["duplicates"] as? Int == expected.duplicates)
        let rejectLines = String(
            decoding: try await store.get("clean/_rejected/dt=\(date)/rejects.ndjson"), as: UTF8.self)
        #expect(rejectLines.split(separator: "\n").count == expected.rejectCount)

        try await store.deleteAll(prefix: "")
    }
}
