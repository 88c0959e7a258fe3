import ArgumentParser
import PinCore

@main
struct PinBatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-batch",
        abstract: "Clean a day of raw records into Parquet.",
        discussion: "Not built yet: this tool prints its help and exits 64 (usage) until its issue lands."
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        log.makeLogger(tool: "pin-batch").error("pin-batch is not built yet")
        throw ExitStatus.usage
    }
}
