import ArgumentParser
import PinCore

/// Why streaming stopped early, with the exit status the command ends with.
struct StreamError: Error, CustomStringConvertible {
    var status: ExitCode
    var message: String

    var description: String { message }

    /// A signal arrived while PostgreSQL was unreachable: the batch in flight is abandoned, which is safe
    /// because its offsets were not stored either.
    static let interrupted = StreamError(
        status: ExitStatus.ok, message: "stopped while PostgreSQL was unavailable; the batch in flight was abandoned")
}
