import CSwiftConcurrencyHook
import Foundation
import NIOCore
import NIOPosix

/// The entry point. Before any task runs, Swift concurrency's global executor moves onto the HTTP
/// server's event loops: a request's task then runs on the thread that holds its connection instead
/// of hopping to a pool of its own on the way in and out (nothing here blocks a task). It can only
/// be installed before the first task, so `main` is synchronous and starts the command itself.
@main
enum Main {
    static func main() {
        EventLoopConcurrency.install()
        Task {
            await PinAPI.main()  // exits by itself on an error
            exit(0)
        }
        dispatchMain()
    }
}

/// Runs the jobs of Swift concurrency's global executor on NIO's singleton event loops, as NIO's
/// `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()` does. That one finds
/// the runtime's hook with dlsym, which fails when the runtime is linked in statically (make release).
enum EventLoopConcurrency {
    typealias Original = @convention(thin) (UnownedJob) -> Void
    typealias Hook = @convention(thin) (UnownedJob, Original) -> Void

    /// Whether the event loops run the global executor's jobs.
    static var installed: Bool { enqueue_global_hook() != nil }

    static func install() {
        guard !installed else { return }
        let hook: Hook = { job, _ in
            // any() stays on the current loop when called from one of the group's loops.
            let loop = MultiThreadedEventLoopGroup.singleton.any()
            loop.execute { job.runSynchronously(on: loop.executor.asUnownedSerialExecutor()) }
        }
        set_enqueue_global_hook(unsafeBitCast(hook, to: UnsafeMutableRawPointer.self))
    }
}
