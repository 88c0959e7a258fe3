import ArgumentParser
import PinCore

@main
struct PinConsumeS3: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-consume-s3",
        abstract: "Archive a Kafka topic to S3 or a directory as NDJSON objects, exactly once.",
        discussion: "Not built yet: this tool prints its help and exits 64 (usage) until its issue lands."
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        log.makeLogger(tool: "pin-consume-s3").error("pin-consume-s3 is not built yet")
        throw ExitStatus.usage
    }
}
