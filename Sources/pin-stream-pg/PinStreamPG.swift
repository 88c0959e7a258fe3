import ArgumentParser
import PinCore

@main
struct PinStreamPG: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-stream-pg",
        abstract: "Stream records from Kafka into PostgreSQL with exactly-once upserts.",
        discussion: "Not built yet: this tool prints its help and exits 64 (usage) until its issue lands."
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        log.makeLogger(tool: "pin-stream-pg").error("pin-stream-pg is not built yet")
        throw ExitStatus.usage
    }
}
