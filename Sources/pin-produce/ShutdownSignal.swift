import Synchronization

#if canImport(Glibc)
import Glibc
#endif

private let signalsReceived = Atomic<Int>(0)

/// SIGINT/SIGTERM as a counter the read loop checks; installed without SA_RESTART so a read
/// blocked on stdin returns and the loop can stop.
enum ShutdownSignal {
    static func install() {
        for number in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in signalsReceived.add(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(number, &action, nil)
        }
    }

    static var count: Int { signalsReceived.load(ordering: .relaxed) }
    static var requested: Bool { count > 0 }
}
