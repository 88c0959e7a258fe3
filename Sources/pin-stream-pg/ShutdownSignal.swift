import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

private let signalsReceived = Atomic<Int>(0)

/// SIGINT/SIGTERM as a counter the poll loop checks between polls (each poll waits at most 100 ms).
enum ShutdownSignal {
    static func install() {
        for number in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in signalsReceived.add(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, nil)
        }
        // A parent may have started us with these signals blocked (the mask is inherited); then they would
        // stay pending forever. Unblock them before librdkafka starts threads, which inherit this mask.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static var count: Int { signalsReceived.load(ordering: .relaxed) }
    static var requested: Bool { count > 0 }
}
