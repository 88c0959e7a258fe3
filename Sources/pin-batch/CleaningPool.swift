import Foundation
import PinCore

/// Cleans the second pass's winning lines on worker threads and hands the clean rows on in input
/// order, so the output is the same as cleaning them one after the other on one thread.
///
/// The reading thread copies winning lines into chunks (`Lines`) and submits them; each worker cleans
/// a whole chunk into one `CleanRows` batch with its own `PinCleaner`. Whichever worker finds the next
/// batch in order ready delivers it (and any that follow) to `deliver`, one delivery at a time. At most
/// `inFlight` chunks are between submission and delivery, which keeps memory bounded.
final class CleaningPool: @unchecked Sendable {
    /// Winning lines, packed one after the other.
    struct Lines {
        fileprivate(set) var bytes: [UInt8] = []
        /// Where each line ends in `bytes`.
        fileprivate(set) var ends: [Int] = []

        init(reservingBytes capacity: Int) {
            bytes.reserveCapacity(capacity)
        }

        var count: Int { ends.count }

        mutating func append(_ line: UnsafeBufferPointer<UInt8>) {
            bytes.append(contentsOf: line)
            ends.append(bytes.count)
        }
    }

    private let deliver: (CleanRows) throws -> Void
    private let inFlight: Int
    private let condition = NSCondition()
    private var queue: [(number: Int, lines: Lines)] = []
    private var done: [Int: CleanRows] = [:]
    private var submitted = 0
    private var delivered = 0
    private var delivering = false
    private var running: Int
    private var stopping = false
    private var failure: (any Error)?
    private var totals = CleaningCounts()

    /// `deliver` is called on a worker thread, with the batches in submission order.
    init(workers: Int, inFlight: Int, deliver: @escaping (CleanRows) throws -> Void) {
        self.deliver = deliver
        self.inFlight = max(inFlight, workers)
        running = workers
        for number in 0..<workers {
            let thread = Thread { [self] in work() }
            thread.name = "cleaner-\(number)"
            thread.start()
        }
    }

    /// Queues a chunk of lines; waits while too many chunks are in flight.
    func submit(_ lines: Lines) throws {
        guard lines.count > 0 else { return }
        condition.lock()
        defer { condition.unlock() }
        while submitted - delivered >= inFlight && failure == nil { condition.wait() }
        if let failure { throw failure }
        queue.append((submitted, lines))
        submitted += 1
        condition.broadcast()
    }

    /// Waits until every submitted chunk is delivered, stops the workers and returns their counts.
    func finish() throws -> CleaningCounts {
        condition.lock()
        defer { condition.unlock() }
        while delivered < submitted && failure == nil { condition.wait() }
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        if let failure { throw failure }
        return totals
    }

    /// Stops the workers after the chunks in hand, dropping the rest (the run is failing anyway).
    func cancel() {
        condition.lock()
        queue.removeAll()
        done.removeAll()
        stopping = true
        if failure == nil { failure = CancellationError() }
        condition.broadcast()
        condition.unlock()
    }

    /// Batches are about the size of their chunk of raw lines: reserve that much.
    private static func clean(_ lines: Lines, with cleaner: inout PinCleaner) -> CleanRows {
        var rows = CleanRows(reservingBytes: lines.bytes.count + (64 << 10))
        lines.bytes.withUnsafeBufferPointer { all in
            var start = 0
            for end in lines.ends {
                let bytes = UnsafeBufferPointer(rebasing: all[start..<end])
                start = end
                // The common case cleans straight from the line's bytes; the rest builds a RawPin.
                if let fields = RawPin.fields(in: bytes) {
                    cleaner.clean(fields, of: bytes, into: &rows)
                } else if let pin = try? RawPin(parsing: bytes) {
                    rows.append(cleaner.clean(pin))
                }
            }
        }
        return rows
    }

    private func work() {
        var cleaner = PinCleaner()
        condition.lock()
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty { break }
            let (number, lines) = queue.removeFirst()
            let failed = failure != nil
            condition.unlock()
            let rows = failed ? CleanRows() : Self.clean(lines, with: &cleaner)
            condition.lock()
            if failure != nil { continue }
            done[number] = rows
            guard !delivering else { continue }
            // This thread delivers every batch that is ready in order, the lock released meanwhile.
            delivering = true
            while failure == nil, let next = done.removeValue(forKey: delivered) {
                condition.unlock()
                var error: (any Error)?
                do { try deliver(next) } catch let thrown { error = thrown }
                condition.lock()
                if let error, failure == nil { failure = error }
                delivered += 1
                condition.broadcast()
            }
            delivering = false
        }
        totals += cleaner.counts
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}
