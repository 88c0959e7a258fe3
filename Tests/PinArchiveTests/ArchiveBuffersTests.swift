import PinArchive
import PinCore
import Testing

@Suite struct ArchiveBuffersTests {
    let now = ContinuousClock.now
    let day1 = ArchiveObjectName.date(milliseconds: 1_714_607_999_000)  // 2024-05-01T23:59:59Z
    let day2 = ArchiveObjectName.date(milliseconds: 1_714_608_000_000)  // 2024-05-02T00:00:00Z

    func value(_ n: Int) -> [UInt8] { Array("{\"n\":\(n)}".utf8) }

    @Test func aNewDateCutsTheRunIntoTheRightFolders() {
        #expect(day1 == "2024-05-01" && day2 == "2024-05-02")
        var buffers = ArchiveBuffers(topic: "pins", policy: FlushPolicy())
        var runs: [SealedRun] = []
        for offset in 0..<5 {
            runs += buffers.add(partition: 0, offset: Int64(offset), value: value(offset), date: day1, now: now).runs
        }
        #expect(runs.isEmpty)
        for offset in 5..<8 {
            runs += buffers.add(partition: 0, offset: Int64(offset), value: value(offset), date: day2, now: now).runs
        }
        runs += buffers.sealAll()
        #expect(
            runs.map(\.name) == [
                ArchiveObjectName(topic: "pins", partition: 0, firstOffset: 0, date: "2024-05-01"),
                ArchiveObjectName(topic: "pins", partition: 0, firstOffset: 5, date: "2024-05-02"),
            ])
        #expect(runs.map(\.count) == [5, 3])
        #expect(runs.map(\.nextOffset) == [5, 8])
        #expect(runs[1].bytes == Array("{\"n\":5}\n{\"n\":6}\n{\"n\":7}\n".utf8))
        #expect(runs[0].name.key(prefix: "raw/") == "raw/pins/dt=2024-05-01/pins+0+00000000000000000000.jsonl")
    }

    /// A stored run's array, handed back, is filled by a later run from empty: nothing of the
    /// old run shows through.
    @Test func recycledStorageStartsEmpty() {
        var buffers = ArchiveBuffers(topic: "pins", policy: FlushPolicy(maxRecords: 2))
        var runs: [SealedRun] = []
        for offset in 0..<2 {
            runs +=
                buffers.add(partition: 0, offset: Int64(offset), value: value(100 + offset), date: day1, now: now)
                .runs
        }
        #expect(runs.count == 1)
        var stored = runs[0].bytes
        buffers.recycle(&stored)
        #expect(stored.isEmpty)
        runs += buffers.add(partition: 0, offset: 2, value: value(2), date: day1, now: now).runs
        runs += buffers.sealAll()
        #expect(runs.count == 2)
        #expect(runs[0].bytes == Array("{\"n\":100}\n{\"n\":101}\n".utf8))
        #expect(runs[1].bytes == Array("{\"n\":2}\n".utf8))
        #expect(buffers.bufferedBytes == 0)
    }

    @Test func recordCountGapsAndTheMemoryCapCut() {
        var buffers = ArchiveBuffers(topic: "pins", policy: FlushPolicy(maxRecords: 3, maxBufferBytes: 20))
        var runs: [SealedRun] = []
        for offset in [0, 1, 2, 3, 7, 8] as [Int64] {
            runs += buffers.add(partition: 1, offset: offset, value: value(Int(offset)), date: day1, now: now).runs
        }
        // 0-2 by count; 3 alone because 7 follows a gap.
        #expect(runs.map(\.name.firstOffset) == [0, 3])
        #expect(runs.map(\.count) == [3, 1])
        // Another partition pushes the total over 20 bytes: the largest buffer goes first.
        let capped = buffers.add(partition: 2, offset: 0, value: value(0), date: day1, now: now).runs
        #expect(capped.map(\.name.partition) == [1])
        #expect(capped.first?.name.firstOffset == 7)
        #expect(buffers.bufferedBytes == 8)
    }

    @Test func agedRunsAreSealedAndNewlinesBecomeSpaces() {
        var buffers = ArchiveBuffers(topic: "pins", policy: FlushPolicy(maxAge: .seconds(5)))
        let added = buffers.add(partition: 0, offset: 0, value: Array("{\n\"n\":0}".utf8), date: day1, now: now)
        #expect(added.hadNewline)
        #expect(buffers.sealAged(now: now + .seconds(4)).isEmpty)
        let aged = buffers.sealAged(now: now + .seconds(5))
        #expect(aged.map(\.bytes) == [Array("{ \"n\":0}\n".utf8)])
    }

    /// The writer counts invalid values from the stored lines; a value whose raw newline sat in a
    /// string (invalid) must not pass once that newline is a space.
    @Test func invalidValuesAreCountedFromTheRunAsFromTheValues() {
        let values =
            [
                "{\"n\":1}", "{\"n\":\"a\nb\"}", "{\n\"n\":2}", "{\"n\":", "not json", "", "[1,2]\n",
                "{\"s\":\"\u{e9}\"}",
                "{\"n\":\"x\ny\"}\n",
            ].map { Array($0.utf8) } + [[0x22, 0xFF, 0x22]]
        var buffers = ArchiveBuffers(topic: "pins", policy: FlushPolicy(maxRecords: 1000))
        for (offset, value) in values.enumerated() {
            _ = buffers.add(partition: 0, offset: Int64(offset), value: value, date: day1, now: now)
        }
        let run = buffers.sealAll()
        #expect(run.count == 1)
        let expected = values.filter { !JSONValidator.isValid($0) }.count
        #expect(expected == 6)
        #expect(run.first?.countInvalidValues() == expected)
    }
}
