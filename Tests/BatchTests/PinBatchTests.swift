import Foundation
import PinCore
import Testing

/// Runs the built pin-batch on local-directory fixtures.
@Suite final class PinBatchTests {
    let fixture: RawFixture
    let work: URL
    let source: String
    let output: BatchOutput

    init() throws {
        fixture = try RawFixture.standard()
        work = try temporaryDirectory("pin-batch-test")
        try fixture.write(to: work.appendingPathComponent("raw"))
        source = work.appendingPathComponent("raw").appendingPathComponent(RawFixture.topic).path
        output = BatchOutput(root: work.appendingPathComponent("clean"))
    }

    deinit {
        try? FileManager.default.removeItem(at: work)
    }

    private func run(_ arguments: [String]) throws -> BatchTool.Result {
        try BatchTool.run(["--source", source, "--dest", output.root.path] + arguments)
    }

    @Test func writesTheCleanedWinnersRowByRow() throws {
        let date = RawFixture.firstDate
        let result = try run(["--date", date, "--row-group-rows", "7", "--part-rows", "25"])
        #expect(result.status == 65, "\(result.stderr)")
        let expected = fixture.expected(date: date)
        #expect(expected.rejectCount == 4)
        #expect(expected.duplicates == 4)

        let wanted = expected.rows.map(Cell.row)
        for reader in ["pyarrow", "duckdb", "spark"] {
            let rows = try output.rows(date, reader: reader)
            #expect(rows.count == wanted.count, "\(reader)")
            for (index, (row, want)) in zip(rows, wanted).enumerated() where row != want {
                Issue.record("\(reader) row \(index): \(row) != \(want)")
            }
        }
        // The dedup rule, spelled out on the fixture's marked copies.
        let titles = Dictionary(expected.rows.map { ($0.uniqueID, $0.title ?? "") }) { a, _ in a }
        #expect(titles[RawFixture.uniqueID(3)] == "winner: later offset, same partition")
        #expect(titles[RawFixture.uniqueID(60)] == "winner: higher offset than its partition 1 copy")
        #expect(titles[RawFixture.uniqueID(75)] == "winner: later in input order")
        #expect(titles[RawFixture.uniqueID(40)] != "loser: lower offset than its partition 0 copy")

        #expect(
            output.parts(date) == [
                "part-00000.parquet", "part-00001.parquet", "part-00002.parquet", "part-00003.parquet",
            ])
        let groups = try output.rowGroups(date)
        // 25 rows a part, 7 rows a row group.
        let partSizes = stride(from: 0, to: wanted.count, by: 25).map { min(25, wanted.count - $0) }
        #expect(
            groups.map(\.rows) == partSizes.map { size in stride(from: 0, to: size, by: 7).map { min(7, size - $0) } })
        #expect(groups.allSatisfy { $0.codec == "ZSTD" })
        #expect(output.hasSuccess(date))
        let report = try output.report(date)
        #expect(report["rows_in"] as? Int == expected.rowsIn)
        #expect(report["rows_out"] as? Int == expected.rows.count)
        #expect(report["duplicates"] as? Int == expected.duplicates)
        #expect(report["rejects"] as? Int == 4)
        #expect((report["source_objects"] as? [String])?.count == 7)
        let cleaning = report["cleaning"] as? [String: Int] ?? [:]
        for (rule, count) in expected.cleaning.asPairs() { #expect(cleaning[rule] == count, "\(rule)") }
        let nulls = report["nulls"] as? [String: Int] ?? [:]
        #expect(nulls["title"] == expected.rows.filter { $0.title == nil }.count)
        #expect(nulls["follower_count"] == expected.rows.filter { $0.followerCount == nil }.count)
        #expect(nulls["ind"] == 0)

        let rejects = try output.rejects(date)
        #expect(rejects.count == 4)
        let seen = Set(rejects.map { "\($0["source"] as? String ?? ""):\($0["line"] as? Int ?? -1)" })
        let want = expected.rejects.map { "\($0.object):\($0.line)" }
        #expect(seen.count == 4)
        // The undecodable object is one reject with line 0 and no raw text.
        let whole = rejects.filter { $0["line"] as? Int == 0 }
        #expect(whole.count == 1)
        let wholeSource = whole.first?["source"] as? String ?? ""
        let corruptKey = expected.corruptObjects.first ?? "?"
        #expect(wholeSource.hasSuffix(corruptKey))
        #expect(whole.first?["raw"] is NSNull)
        for reject in rejects where reject["line"] as? Int != 0 {
            #expect(!(reject["reason"] as? String ?? "").isEmpty)
            let source = reject["source"] as? String ?? ""
            let line = reject["line"] as? Int ?? -1
            let match = expected.rejects.first { source.hasSuffix($0.object) && $0.line == line }
            #expect(match != nil, "unexpected reject \(reject); want \(want)")
            #expect(reject["raw"] as? String == match?.text)
        }
        #expect(result.stdout.contains("\(expected.rowsIn) rows in, \(expected.rows.count) out"))
        #expect(result.stdout.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: output.folder(RawFixture.secondDate).path))
    }

    /// Several megabytes, so the second pass cleans many batches on its worker threads: the rows, their
    /// order, the parts and the counts are those of cleaning the input line by line on one thread.
    @Test func manyBatchesKeepTheInputOrder() throws {
        let large = try RawFixture.large()
        let root = work.appendingPathComponent("large")
        try large.write(to: root)
        let result = try BatchTool.run([
            "--source", root.appendingPathComponent(RawFixture.topic).path, "--dest", output.root.path,
            "--date", RawFixture.firstDate, "--allow-rejects", "--part-rows", "9000", "--row-group-rows", "4000",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let date = RawFixture.firstDate
        let expected = large.expected(date: date)
        #expect(expected.duplicates > 50)
        #expect(expected.rejectCount == 48)
        let rows = try output.rows(date)
        let wanted = expected.rows.map(Cell.row)
        #expect(rows.count == wanted.count)
        if let first = zip(rows, wanted).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("row \(first): \(rows[first]) != \(wanted[first])")
        }
        #expect(output.parts(date) == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"])
        let report = try output.report(date)
        #expect(report["rows_out"] as? Int == expected.rows.count)
        #expect(report["duplicates"] as? Int == expected.duplicates)
        #expect(report["rejects"] as? Int == expected.rejectCount)
        let cleaning = report["cleaning"] as? [String: Int] ?? [:]
        for (rule, count) in expected.cleaning.asPairs() { #expect(cleaning[rule] == count, "\(rule)") }
        #expect(try output.rejects(date).map { $0["line"] as? Int ?? 0 } == expected.rejects.map(\.line))
    }

    /// SIGKILL at random moments of runs over a complete output, then one run to the end: no folder
    /// with `_SUCCESS` ever holds anything but a whole output, and the last run leaves exactly what
    /// one clean run writes. The staging folders the killed runs left behind are removed by a later
    /// run once they are an hour old.
    @Test func killedRunsNeverLeaveAHalfOutputMarkedDone() throws {
        let large = try RawFixture.large()
        let root = work.appendingPathComponent("large")
        try large.write(to: root)
        let scratch = work.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let date = RawFixture.firstDate
        let arguments = [
            "--source", root.appendingPathComponent(RawFixture.topic).path, "--dest", output.root.path, "--date", date,
            "--allow-rejects", "--part-rows", "3000",
        ]
        let environment = ["TMPDIR": scratch.path]
        let started = ContinuousClock.now
        #expect(try BatchTool.run(arguments, environment: environment).status == 0)
        let duration = (ContinuousClock.now - started).inSeconds
        let expected = try output.rows(date)
        #expect(expected == large.expected(date: date).rows.map(Cell.row))

        var kills = 0
        for _ in 0..<5 {
            let process = try BatchTool.start(arguments, environment: environment)
            Thread.sleep(forTimeInterval: Double.random(in: 0.02...max(0.05, duration * 0.95)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { kills += 1 }
            if output.hasSuccess(date) { #expect(try output.rows(date) == expected, "after kill \(kills)") }
        }
        #expect(kills >= 3, "the runs ended before they could be killed")

        let staging = { (try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? [] }
        #expect(!staging().isEmpty, "the killed runs left no staging folder to clean up")
        let hoursAgo = Date().addingTimeInterval(-2 * 3600)
        for name in staging() {
            try FileManager.default.setAttributes(
                [.modificationDate: hoursAgo], ofItemAtPath: scratch.appendingPathComponent(name).path)
        }
        // A run killed while it wrote a part leaves that part's hidden temporary file, cleared
        // once it is an hour old.
        for name in output.files(date) where name.hasPrefix(".") {
            try FileManager.default.setAttributes(
                [.modificationDate: hoursAgo], ofItemAtPath: output.folder(date).appendingPathComponent(name).path)
        }
        let last = try BatchTool.run(arguments, environment: environment)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(try output.rows(date) == expected)
        #expect(output.files(date).filter { !$0.hasPrefix("part-") } == ["_REPORT.json", "_SUCCESS"])
        #expect(try output.report(date)["rows_out"] as? Int == expected.count)
        #expect(staging().isEmpty, "left in TMPDIR: \(staging())")
    }

    @Test func allDatesWithAllowedRejectsExitZero() throws {
        let result = try run(["--all", "--allow-rejects"])
        #expect(result.status == 0, "\(result.stderr)")
        for date in [RawFixture.firstDate, RawFixture.secondDate] {
            #expect(output.hasSuccess(date))
            #expect(try output.rows(date) == fixture.expected(date: date).rows.map(Cell.row))
        }
        #expect(try output.rejects(RawFixture.secondDate).isEmpty)
        #expect(result.stdout.split(separator: "\n").count == 2)
    }

    @Test func rerunReplacesOnlyThatDate() throws {
        #expect(try run(["--all", "--allow-rejects"]).status == 0)
        let untouched = try output.snapshot(RawFixture.secondDate)
        let oldParts = output.parts(RawFixture.firstDate)

        // Fix the input: drop the objects holding invalid lines, then run the date again.
        var fixed = fixture
        let day = "dt=\(RawFixture.firstDate)/"
        for key in [
            "\(RawFixture.topic)+0+00000000000000000030.jsonl.gz",
            "\(RawFixture.topic)+1+00000000000000000000.jsonl.zst",
            "single-broken.json", "\(RawFixture.topic)+2+00000000000000000000.jsonl.gz",
        ] {
            fixed.objects[day + key] = nil
            fixed.lines[RawFixture.firstDate]?.removeAll { $0.object == day + key }
            fixed.corrupt[RawFixture.firstDate]?.removeAll { $0 == day + key }
            try FileManager.default.removeItem(at: URL(fileURLWithPath: source).appendingPathComponent(day + key))
        }
        let result = try run(["--date", RawFixture.firstDate, "--compression", "snappy"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try output.rowGroups(RawFixture.firstDate).allSatisfy { $0.codec == "SNAPPY" })
        let newParts = output.parts(RawFixture.firstDate)
        #expect(!newParts.isEmpty)
        #expect(Set(newParts).isDisjoint(with: oldParts))
        let expected = fixed.expected(date: RawFixture.firstDate)
        #expect(try output.rows(RawFixture.firstDate) == expected.rows.map(Cell.row))
        #expect(try output.report(RawFixture.firstDate)["rejects"] as? Int == 0)
        #expect(try output.rejects(RawFixture.firstDate).isEmpty)
        #expect(output.hasSuccess(RawFixture.firstDate))
        #expect(try output.snapshot(RawFixture.secondDate) == untouched)
    }

    @Test func aDateWithoutInputCompletesEmpty() throws {
        let result = try run(["--date", "2024-01-05"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(output.hasSuccess("2024-01-05"))
        #expect(output.parts("2024-01-05").isEmpty)
        #expect(try output.report("2024-01-05")["rows_out"] as? Int == 0)
        #expect(result.stderr.contains("no input objects"))
    }

    @Test func usageErrorsExit64() throws {
        #expect(try run(["--date", "2024-02-30"]).status == 64)
        #expect(try run(["--date", "yesterday"]).status == 64)
        #expect(try run(["--date", RawFixture.firstDate, "--all"]).status == 64)
        #expect(try BatchTool.run(["--dest", output.root.path]).status == 64)
        #expect(try run(["--compression", "lz4"]).status == 64)
    }

    @Test func unreachableStoreExits69() throws {
        let result = try BatchTool.run(
            ["--source", "s3://pinpipe-nowhere/raw", "--dest", output.root.path, "--date", RawFixture.firstDate],
            environment: [
                "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
            ])
        #expect(result.status == 69, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.root.path))
    }

    @Test func unwritableDestinationExits74() throws {
        let file = work.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let result = try BatchTool.run([
            "--source", source, "--dest", file.appendingPathComponent("clean").path, "--date", RawFixture.secondDate,
        ])
        #expect(result.status == 74, "\(result.stderr)")
    }
}
