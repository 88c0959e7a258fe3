import Foundation

/// The Python that runs the helper scripts beside these tests: the project's virtualenv (which
/// `make setup` fills, botocore included) when there is one, else `python3` on the PATH.
enum TestPython {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static func process(script: String) -> Process {
        let root = testsDirectory.deletingLastPathComponent().deletingLastPathComponent().path
        let venv = ProcessInfo.processInfo.environment["PINPIPE_VENV"] ?? root + "/.venv"
        let process = Process()
        let scriptPath = testsDirectory.appendingPathComponent(script).path
        if FileManager.default.isExecutableFile(atPath: venv + "/bin/python") {
            process.executableURL = URL(fileURLWithPath: venv + "/bin/python")
            process.arguments = [scriptPath]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", scriptPath]
        }
        return process
    }
}
