import Foundation
import PinCore

/// Runs a `ParquetPartWriter` on its own thread, so encoding and compressing the Parquet columns
/// overlaps with reading and cleaning the next records: the batch uses both cores.
///
/// Rows travel in batches (`CleanRows`) through a short queue; a full queue makes the reader wait,
/// which keeps memory bounded. The wrapped writer is touched by the caller only while the thread is idle.
final class PipelinedPartWriter: @unchecked Sendable {
    private static let queueLimit = 4

    private let writer: ParquetPartWriter
    private let condition = NSCondition()
    private var queue: [CleanRows] = []
    private var working = false
    private var stopping = false
    private var failure: (any Error)?
    /// Parts the thread has finished and nobody has taken yet.
    private var finished: [ParquetPartWriter.Part] = []

    init(_ writer: ParquetPartWriter) {
        self.writer = writer
        // The thread holds the writer until `close` or `cancel` lets it end.
        let thread = Thread { [self] in run() }
        thread.name = "parquet-writer"
        thread.start()
    }

    /// Queues a batch of rows for the writer thread.
    func write(_ batch: CleanRows) throws {
        guard batch.count > 0 else { return }
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= Self.queueLimit && failure == nil { condition.wait() }
        if let failure { throw failure }
        queue.append(batch)
        condition.broadcast()
    }

    /// Waits until every row so far is written, then returns the parts finished since the last call.
    func drain() throws -> [ParquetPartWriter.Part] {
        condition.lock()
        defer { condition.unlock() }
        while !queue.isEmpty || working { condition.wait() }
        if let failure { throw failure }
        defer { finished = [] }
        return finished
    }

    /// The parts finished so far, without waiting for the rows queued.
    func takeFinishedParts() throws -> [ParquetPartWriter.Part] {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        defer { finished = [] }
        return finished
    }

    /// Writes what is left, closes the open part and stops the thread.
    func close() throws -> [ParquetPartWriter.Part] {
        var parts = try drain()
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        try writer.close()
        parts += writer.takeFinishedParts()
        return parts
    }

    /// Stops the thread after the batch in hand, dropping the rest (the run is failing anyway).
    func cancel() {
        condition.lock()
        queue.removeAll()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    var rows: Int {
        condition.lock()
        defer { condition.unlock() }
        return writer.rows
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                return
            }
            let next = queue.removeFirst()
            working = true
            let failed = failure != nil
            condition.unlock()

            var error: (any Error)?
            var parts: [ParquetPartWriter.Part] = []
            if !failed {
                do {
                    try writer.write(next)
                    parts = writer.takeFinishedParts()
                } catch let thrown {
                    error = thrown
                }
            }

            condition.lock()
            working = false
            finished += parts
            if let error, failure == nil { failure = error }
            condition.broadcast()
            condition.unlock()
        }
    }
}
