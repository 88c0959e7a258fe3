import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

private let signalsReceived = Atomic<Int>(0)

/// SIGINT/SIGTERM as a flag the read loops check between lines, so a run stops cleanly:
/// the staging directory is removed and the date's previous parts stay as they were.
enum ShutdownSignal {
    struct Interrupted: Error, CustomStringConvertible {
        var description: String { "interrupted by a signal" }
    }

    static func install() {
        for number in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in signalsReceived.add(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
    }

    static var requested: Bool { signalsReceived.load(ordering: .relaxed) > 0 }

    static func check() throws(Interrupted) {
        if requested { throw Interrupted() }
    }
}
