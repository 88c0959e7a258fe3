import Foundation

/// Runs `body(0..<count)` on up to `width` threads of its own (the parts of a multipart upload).
/// After the first error no new items start; that error is rethrown once the running ones end.
/// The workers share the caller's ``CancellationFlag``.
enum ParallelWork {
    static func run(count: Int, width: Int, _ body: (Int) throws -> Void) throws {
        if count <= 1 || width <= 1 {
            for index in 0..<count { try body(index) }
            return
        }
        try withoutActuallyEscaping(body) { escapable in
            let state = State(body: escapable, count: count)
            let flag = CancellationFlag.current
            let group = DispatchGroup()
            for _ in 0..<min(width, count) {
                group.enter()
                Thread {
                    flag.install()
                    state.work()
                    group.leave()
                }.start()
            }
            group.wait()
            // Finished threads may still hold `state`; it must not hold the caller's closure.
            let error = state.finish()
            if let error { throw error }
        }
    }

    private final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var body: ((Int) throws -> Void)?
        private let count: Int
        private var next = 0
        private var error: (any Error)?

        init(body: @escaping (Int) throws -> Void, count: Int) {
            self.body = body
            self.count = count
        }

        func work() {
            while let (index, body) = take() {
                do {
                    try body(index)
                } catch {
                    lock.lock()
                    if self.error == nil { self.error = error }
                    lock.unlock()
                }
            }
        }

        private func take() -> (Int, (Int) throws -> Void)? {
            lock.lock()
            defer { lock.unlock() }
            guard error == nil, next < count, let body else { return nil }
            next += 1
            return (next - 1, body)
        }

        func finish() -> (any Error)? {
            lock.lock()
            defer { lock.unlock() }
            body = nil
            return error
        }
    }
}
