import PinCore
import PinKafka

/// A self-overwriting status line on a terminal's stderr, at most twice a second.
final class Progress {
    private let enabled: Bool
    private let started = ContinuousClock.now
    private var lastShown = ContinuousClock.now
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ totals: LinePublisher.Totals) {
        guard enabled, ContinuousClock.now - lastShown >= .milliseconds(500) else { return }
        lastShown = .now
        shown = true
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Int(Double(totals.delivered) / seconds) : 0
        StandardStream.writeError(
            "\r\u{1B}[K\(totals.read) read, \(totals.delivered) delivered, \(totals.rejected) rejected, "
                + "\(totals.failed) failed, \(rate)/s"
        )
    }

    func finish() {
        if shown { StandardStream.writeError("\r\u{1B}[K") }
    }
}
