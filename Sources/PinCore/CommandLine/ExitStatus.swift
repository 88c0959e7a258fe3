import ArgumentParser

/// The exit codes every tool uses (sysexits.h), SPEC §2.
public enum ExitStatus {
    public static let ok = ExitCode(0)
    /// Bad command line.
    public static let usage = ExitCode(64)
    /// Some input records were rejected (and kept where the user can see them).
    public static let dataError = ExitCode(65)
    /// A service (Kafka, S3, PostgreSQL) stayed unavailable after retries.
    public static let unavailable = ExitCode(69)
    /// A bug or an unexpected state.
    public static let software = ExitCode(70)
    /// Reading or writing a file failed.
    public static let ioError = ExitCode(74)
}
