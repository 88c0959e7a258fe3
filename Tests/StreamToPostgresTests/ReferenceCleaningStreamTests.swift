import Foundation
import Testing

/// pin-stream-pg against a second, independent reading of SPEC 1.1 and 1.2 (Tests/Support/reference_clean.py)
/// on generated records full of edge cases, sent as they are to a topic of one partition.
@Suite struct ReferenceCleaningStreamTests {
    @Test func everyRowMatchesTheReference() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("stream-reference-\(UUID())")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let sample = root.appendingPathComponent("Sources/PinCore/Resources/pins.jsonl").path
        let generated = try Self.reference(root, ["generate", sample, work.path, "13"])
        try #require(generated.status == 0, "\(generated.output)")

        // The objects' lines in name order, each sent unchanged (malformed and invalid ones too).
        let folder = work.appendingPathComponent("t/dt=2026-11-28")
        var messages: [(key: String?, value: [UInt8])] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            for line in text.split(separator: "\n") { messages.append((nil, Array(line.utf8))) }
        }
        let fixture = try StreamFixture("stream_reference", partitions: 1)
        defer { fixture.dropTables() }
        try fixture.produce(messages)

        let run = try fixture.run(["--once"])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.summary("records") == messages.count)
        let check = try Self.reference(root, ["check-table", work.path, fixture.databaseURL, fixture.table])
        #expect(check.status == 0, "\(check.output)")
    }

    /// Runs reference_clean.py with the project's Python; its status and what it printed.
    private static func reference(_ root: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let environment = ProcessInfo.processInfo.environment
        let venv = root.appendingPathComponent(".venv/bin/python").path
        let python =
            environment["PINPIPE_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("Tests/Support/reference_clean.py").path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
