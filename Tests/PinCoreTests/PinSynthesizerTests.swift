import Foundation
import Testing

@testable import PinCore

@Suite struct PinSynthesizerTests {
    static func sample() throws -> [RawPin] {
        let url = try #require(Bundle.module.url(forResource: "pins", withExtension: "jsonl", subdirectory: "Fixtures"))
        return try SampleRecords.load(path: url.path)
    }

    @Test func theSameSeedGivesTheSameRecords() throws {
        let sample = try Self.sample()
        var a = PinSynthesizer(sample: sample, seed: 42)
        var b = PinSynthesizer(sample: sample, seed: 42)
        var c = PinSynthesizer(sample: sample, seed: 43)
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        #expect(first != (0..<100).map { _ in c.next() })
    }

    @Test func recordsAreFreshValidAndKeepTheSampleShareOfDirtyValues() throws {
        let sample = try Self.sample()
        var synthesizer = PinSynthesizer(sample: sample, seed: 7, firstIndex: 1_000)
        let count = 20_000
        var ids = Set<String>()
        var synthetic = PinCleaner()
        for position in 0..<count {
            let pin = synthesizer.next()
            #expect(pin.index == Int64(1_000 + position))
            ids.insert(pin.uniqueID)
            // Every synthetic record survives a round trip through validation.
            if position < 1_000 { #expect(try RawPin(parsing: pin.jsonBytes()) == pin) }
            _ = synthetic.clean(pin)
        }
        #expect(ids.count == count)
        #expect(ids.allSatisfy { FieldValidator.isUUID($0) })
        var real = PinCleaner()
        for pin in sample { _ = real.clean(pin) }
        func share(_ value: Int, _ total: Int) -> Double { Double(value) / Double(total) }
        let pairs = zip(synthetic.counts.asPairs(), real.counts.asPairs())
        for ((name, syntheticCount), (_, realCount)) in pairs where name != "records" {
            let expected = share(realCount, sample.count)
            let actual = share(syntheticCount, count)
            // Within 1.5 percentage points of the sample's share (binomial noise at n=20,000 is < 0.4).
            #expect(abs(expected - actual) < 0.015, "\(name): sample \(expected), synthetic \(actual)")
        }
    }

    @Test func uuidsAreVersion4() {
        var random = SeededRandom(seed: 1)
        for _ in 0..<1_000 {
            let uuid = random.uuid()
            #expect(FieldValidator.isUUID(uuid))
            let characters = Array(uuid)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
        }
    }
}
