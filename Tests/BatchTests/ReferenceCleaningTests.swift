import Foundation
import Testing

/// pin-batch against a second, independent reading of SPEC 1.1 and 1.2 (Tests/Support/reference_clean.py:
/// validation, cleaning and the dedup rule in plain Python) on generated records full of edge cases.
@Suite struct ReferenceCleaningTests {
    @Test(arguments: [7, 11])
    func everyRowMatchesTheReference(seed: Int) throws {
        let work = try temporaryDirectory("reference-clean")
        defer { try? FileManager.default.removeItem(at: work) }
        let sample = BatchTool.packageRoot.appendingPathComponent("Sources/PinCore/Resources/pins.jsonl").path
        let generated = try BatchTool.runSupportScript(
            "reference_clean.py", ["generate", sample, work.path, String(seed)])
        try #require(generated.status == 0, "\(generated.stderr)")

        let clean = work.appendingPathComponent("clean").path
        let batch = try BatchTool.run(["--source", work.appendingPathComponent("t").path, "--dest", clean, "--all"])
        // The generated records include invalid ones.
        #expect(batch.status == 65, "\(batch.stderr)")
        let check = try BatchTool.runSupportScript("reference_clean.py", ["check", work.path, clean])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
