import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL 15 cluster of a test's own, on a free port, so that the test can stop and start
/// the server without disturbing anyone else. Like `bin/stack`, it runs as the `postgres` user when the
/// tests run as root. Its folder is removed when it is released.
final class ScratchPostgres {
    /// `PINPIPE_PG_BIN`, else Debian's PostgreSQL 15.
    static var binDirectory: String {
        ProcessInfo.processInfo.environment["PINPIPE_PG_BIN"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/usr/lib/postgresql/15/bin"
    }

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: binDirectory + "/initdb")
            && FileManager.default.isExecutableFile(atPath: binDirectory + "/pg_ctl")
    }

    let directory: String
    let port: Int
    var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }
    private var data: String { directory + "/data" }

    init() throws {
        var template = Array((NSTemporaryDirectory() + "pinpipe-scratch-pg.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ScratchError("mkdtemp failed") }
        directory = String(cString: made)
        if geteuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: directory)
        }
        port = try Self.freePort()
        try run(
            "initdb", ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
        try start()
    }

    deinit {
        try? stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func start() throws {
        try run(
            "pg_ctl",
            [
                "-D", data, "-l", directory + "/postgres.log", "-w", "-t", "60", "-o",
                "-p \(port) -h 127.0.0.1 -k \(directory) -c fsync=off", "start",
            ])
    }

    /// Stops the server (fast shutdown: open connections are closed).
    func stop() throws {
        try run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// Runs one of the server's programs, as `postgres` when root, and throws with its output on failure.
    /// Spawned and reaped directly, its output in a file: the server that `pg_ctl start` leaves running
    /// would hold a pipe open, and Foundation's `Process` did not always notice `runuser` exit.
    private func run(_ program: String, _ arguments: [String]) throws {
        let path = Self.binDirectory + "/" + program
        let command =
            geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", path] + arguments : [path] + arguments
        let outputPath = directory + "/\(program).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw ScratchError("cannot start \(command[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw ScratchError("waitpid failed: errno \(errno)") }
        }
        // WIFEXITED and WEXITSTATUS: the exit code sits in bits 8-15 when the low 7 bits are zero.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw ScratchError("\(program) \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
    }

    /// A port nobody listens on now: the kernel's pick for a socket bound to port 0.
    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ScratchError("socket failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw ScratchError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct ScratchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
