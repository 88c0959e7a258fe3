import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A run's local scratch folder for Parquet parts, `$TMPDIR/pin-batch-<pid>-<uuid>`. A run removes
/// its own when it ends; one that was killed cannot, so each run also removes those left by runs
/// whose process is gone, once they are an hour old (the hour spares a live run in another PID
/// namespace that shares the folder).
enum StagingDirectory {
    static let prefix = "pin-batch-"

    static func create(log: (String) -> Void) throws -> String {
        let root = FileManager.default.temporaryDirectory
        removeAbandoned(in: root, log: log)
        let path = root.appendingPathComponent("\(prefix)\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeAbandoned(in root: URL, olderThan age: TimeInterval = 3600, log: (String) -> Void) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pid = rest.split(separator: "-", maxSplits: 1).first.flatMap({ pid_t($0) }), pid != getpid(),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            let path = root.appendingPathComponent(name).path
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
            guard let modified, Date().timeIntervalSince(modified) > age else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil {
                log("removed \(path), left by a pin-batch run that was killed")
            }
        }
    }
}
