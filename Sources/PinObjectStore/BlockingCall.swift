import Foundation

/// Runs blocking work (a curl transfer, fsync) on its own thread so it never holds one of the few
/// threads of Swift's cooperative pool; the caller's task waits without blocking. Cancelling the
/// task sets the thread's ``CancellationFlag``.
enum BlockingCall {
    static func run<T: Sendable>(_ body: () throws -> T) async throws -> T {
        let flag = CancellationFlag()
        // The body may capture non-Sendable state (a caller's chunk handler). That is safe: the
        // caller is suspended until the body has finished and been released.
        return try await withoutActuallyEscaping(body) { escapable in
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let job = Job(work: escapable, continuation: continuation)
                    let thread = Thread {
                        flag.install()
                        job.execute()
                    }
                    thread.start()
                }
            } onCancel: {
                flag.cancel()
            }
        }
    }

    private struct UncheckedBox<Value>: @unchecked Sendable {
        let value: Value
    }

    private final class Job<T: Sendable>: @unchecked Sendable {
        private var work: UncheckedBox<() throws -> T>?
        private let continuation: CheckedContinuation<T, any Error>

        init(work: @escaping () throws -> T, continuation: CheckedContinuation<T, any Error>) {
            self.work = UncheckedBox(value: work)
            self.continuation = continuation
        }

        func execute() {
            let result = runWork()
            continuation.resume(with: result)
        }

        // Kept out of line so the closure is released before the continuation resumes
        // (withoutActuallyEscaping checks that nothing still holds it).
        @inline(never)
        private func runWork() -> Result<T, any Error> {
            guard let work = work.take() else { fatalError("BlockingCall job ran twice") }
            return Result { try work.value() }
        }
    }
}
