import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

private let signalsReceived = Atomic<Int>(0)

/// SIGINT/SIGTERM as a counter that a tool's work loop checks, so every tool stops the same way:
/// stop taking work, finish or abandon what is in flight, commit only what is durable, exit 0.
public enum ShutdownSignal {
    /// Installs the handler for SIGINT and SIGTERM.
    /// - Parameter restartingSystemCalls: false makes a read blocked on stdin return (EINTR), so a
    ///   loop reading a pipe notices the signal at once.
    public static func install(restartingSystemCalls: Bool = false) {
        for number in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in signalsReceived.add(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = restartingSystemCalls ? SA_RESTART : 0
            sigaction(number, &action, nil)
        }
        // A parent may have started us with these signals blocked (the mask is inherited); they would
        // then stay pending forever. Unblock them before any library starts threads, which inherit the mask.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// How many signals arrived: a second one lets a tool give up on a slow graceful stop.
    public static var count: Int { signalsReceived.load(ordering: .relaxed) }
    public static var requested: Bool { count > 0 }

    public struct Interrupted: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "interrupted by a signal" }
    }

    /// Throws `Interrupted` once a signal arrived.
    public static func check() throws(Interrupted) {
        if requested { throw Interrupted() }
    }
}
