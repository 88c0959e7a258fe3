import PinCore
import Synchronization

/// Hands out the records to send, in order, to any number of workers.
final class RecordFeed: Sendable {
    enum Mode: Sendable {
        /// The sample once, row by row.
        case replay
        /// `count` synthetic records (nil: endless).
        case synthesize(count: Int?)
        /// Real rows drawn at random, `count` of them (nil: endless).
        case randomRealRows(count: Int?)
    }

    private struct State {
        var synthesizer: PinSynthesizer
        var handedOut = 0
    }

    private let sample: [RawPin]
    private let mode: Mode
    private let state: Mutex<State>

    init(sample: [RawPin], mode: Mode, seed: UInt64) {
        self.sample = sample
        self.mode = mode
        self.state = Mutex(State(synthesizer: PinSynthesizer(sample: sample, seed: seed)))
    }

    /// The next record and its 0-based sequence number, or nil when done.
    func next() -> (sequence: Int, pin: RawPin)? {
        state.withLock { state in
            let sequence = state.handedOut
            let pin: RawPin
            switch mode {
            case .replay:
                guard sequence < sample.count else { return nil }
                pin = sample[sequence]
            case .synthesize(let count):
                if let count, sequence >= count { return nil }
                pin = state.synthesizer.next()
            case .randomRealRows(let count):
                if let count, sequence >= count { return nil }
                pin = state.synthesizer.randomRealRow()
            }
            state.handedOut += 1
            return (sequence, pin)
        }
    }
}
