import ArgumentParser
import PinCore

@main
struct PinEmulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin-emulate",
        abstract: "Replay or synthesise Pinterest records as NDJSON or HTTP load.",
        discussion: "Not built yet: this tool prints its help and exits 64 (usage) until its issue lands."
    )

    @OptionGroup var log: LogOptions

    func run() throws {
        log.makeLogger(tool: "pin-emulate").error("pin-emulate is not built yet")
        throw ExitStatus.usage
    }
}
