/// Makes realistic records from a sample: each synthetic record copies the fields of a
/// randomly drawn real row (so dirty values keep their share) under a fresh `unique_id`
/// and `index`. The same seed and sample give the same records.
public struct PinSynthesizer: Sendable {
    private let sample: [RawPin]
    private var random: SeededRandom
    private var nextIndex: Int64

    public init(sample: [RawPin], seed: UInt64, firstIndex: Int64 = 0) {
        precondition(!sample.isEmpty, "the sample has no records")
        self.sample = sample
        self.random = SeededRandom(seed: seed)
        self.nextIndex = firstIndex
    }

    public mutating func next() -> RawPin {
        var pin = sample[Int(random.next() % UInt64(sample.count))]
        pin.uniqueID = random.uuid()
        pin.index = nextIndex
        nextIndex += 1
        return pin
    }

    /// A real row drawn at random, unchanged (the original emulator's behaviour).
    public mutating func randomRealRow() -> RawPin {
        sample[Int(random.next() % UInt64(sample.count))]
    }
}
