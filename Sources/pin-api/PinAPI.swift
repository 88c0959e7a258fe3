import ArgumentParser
import PinCore

@main
struct PinAPI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-api",
        abstract: "HTTP API that validates Pinterest records and publishes them to Kafka.",
        discussion: "Not built yet: this tool prints its help and exits 64 (usage) until its issue lands."
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        log.makeLogger(tool: "pin-api").error("pin-api is not built yet")
        throw ExitStatus.usage
    }
}
