import ArgumentParser
import PinCore

@main
struct PinProduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-produce",
        abstract: "Publish NDJSON Pinterest records from files or stdin to Kafka.",
        discussion: "Not built yet: this tool prints its help and exits 64 (usage) until its issue lands."
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        log.makeLogger(tool: "pin-produce").error("pin-produce is not built yet")
        throw ExitStatus.usage
    }
}
