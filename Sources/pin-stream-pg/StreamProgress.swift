import PinCore

/// A self-overwriting status line on a terminal's stderr, at most twice a second.
final class StreamProgress {
    private let enabled: Bool
    private let started = ContinuousClock.now
    private var lastShown = ContinuousClock.now
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ totals: StreamTotals) {
        guard enabled, ContinuousClock.now - lastShown >= .milliseconds(500) else { return }
        lastShown = .now
        shown = true
        let seconds = (ContinuousClock.now - started).inSeconds
        let rate = seconds > 0 ? Int(Double(totals.records) / seconds) : 0
        StandardStream.writeError(
            "\r\u{1B}[K\(totals.records) records, \(totals.upserted) upserted, \(totals.rejected) rejected, \(rate)/s")
    }

    func finish() {
        if shown { StandardStream.writeError("\r\u{1B}[K") }
    }
}
