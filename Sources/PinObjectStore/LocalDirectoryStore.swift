import Foundation

/// An ``ObjectStore`` over a local directory: a key `a/b/c.json` is the file `<root>/a/b/c.json`.
///
/// `put` writes a hidden temporary file in the target directory, fsyncs it, renames it over the
/// target and fsyncs the directory: a reader never sees half an object, and after a crash either
/// the old or the new object is there. Temporary files never appear in listings.
public struct LocalDirectoryStore: StagingObjectStore {
    public let root: String

    /// `root` is made absolute; it is created on the first `put`.
    public init(root: String) {
        var path = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    public func describe(_ key: String) -> String { path(for: key) }

    public func put(_ key: String, bytes: [UInt8]) async throws {
        let target = try checkedPath(key)
        try await BlockingCall.run {
            try Self.writeAtomically(target) { fd, temporary in
                try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: temporary) }
            }
        }
    }

    public func put(_ key: String, contentsOfFile path: String) async throws {
        let target = try checkedPath(key)
        try await BlockingCall.run {
            let source = open(path, O_RDONLY | O_CLOEXEC)
            guard source >= 0 else { throw ObjectStoreError.posix("open", path: path) }
            defer { close(source) }
            try Self.writeAtomically(target) { fd, temporary in
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try FileIO.read(source, into: $0, path: path) }
                    if count == 0 { break }
                    try buffer.withUnsafeBytes {
                        try FileIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[..<count]), path: temporary)
                    }
                }
            }
        }
    }

    public func stage(_ key: String, bytes: [UInt8]) throws -> StagedObject {
        let target = try checkedPath(key)
        return try Self.stageFile(target) { fd, temporary in
            try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: temporary) }
        }
    }

    public func publish(_ staged: StagedObject) throws { try Self.publish(staged) }

    public func discard(_ staged: StagedObject) { unlink(staged.temporaryPath) }

    public func get(_ key: String) async throws -> [UInt8] {
        let path = try checkedPath(key)
        return try await BlockingCall.run {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ObjectStoreError.posix("get", path: path) }
            defer { close(fd) }
            var bytes = [UInt8](repeating: 0, count: Int(try FileIO.fileSize(fd, path: path)))
            let count = try bytes.withUnsafeMutableBytes { try FileIO.readFully(fd, into: $0, path: path) }
            // A file that grew after fstat (not written by us) is read to its end.
            if count == bytes.count {
                var more = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let extra = try more.withUnsafeMutableBytes { try FileIO.read(fd, into: $0, path: path) }
                    if extra == 0 { break }
                    bytes += more[..<extra]
                }
            } else {
                bytes.removeLast(bytes.count - count)
            }
            return bytes
        }
    }

    public func get(_ key: String, chunks body: (UnsafeRawBufferPointer) throws -> Void) async throws {
        let path = try checkedPath(key)
        try await BlockingCall.run {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ObjectStoreError.posix("get", path: path) }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            let cancellation = CancellationFlag.current
            while true {
                try cancellation.check()
                let count = try buffer.withUnsafeMutableBytes { try FileIO.read(fd, into: $0, path: path) }
                if count == 0 { break }
                try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            }
        }
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        let path = try checkedPath(key)
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw ObjectStoreError.posix("head", path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Self.objectInfo(key: key, info)
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try await BlockingCall.run { try listSync(prefix: prefix) }
    }

    public func list(prefix: String, delimiter: String) async throws -> ObjectListing {
        let all = try await list(prefix: prefix)
        guard !delimiter.isEmpty else { return ObjectListing(objects: all, commonPrefixes: []) }
        var objects: [ObjectInfo] = []
        var prefixes: [String] = []
        for object in all {
            let rest = object.key.dropFirst(prefix.count)
            if let range = rest.range(of: delimiter) {
                let common = prefix + rest[..<range.upperBound]
                if prefixes.last != common { prefixes.append(common) }
            } else {
                objects.append(object)
            }
        }
        return ObjectListing(objects: objects, commonPrefixes: prefixes)
    }

    public func delete(_ key: String) async throws {
        try await delete(keys: [key])
    }

    public func delete(keys: [String]) async throws {
        let paths = try keys.map(checkedPath)
        try await BlockingCall.run {
            for path in paths {
                if unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR {
                    throw ObjectStoreError.posix("delete", path: path)
                }
                removeEmptyParents(of: path)
            }
        }
    }

    // MARK: Paths

    private func path(for key: String) -> String { root == "/" ? "/" + key : root + "/" + key }

    /// Keys must be relative paths without `.`/`..` or empty segments, so none escapes the root.
    private func checkedPath(_ key: String) throws(ObjectStoreError) -> String {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        let valid =
            !key.isEmpty && !key.contains("\0")
            && segments.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(Self.temporaryMarker) }
        guard valid else {
            throw ObjectStoreError(
                .invalidKey, operation: "use key", target: path(for: key),
                message: "keys must be relative paths without empty, '.' or '..' segments")
        }
        return path(for: key)
    }

    // MARK: Writing

    /// Hidden temporary names start with this, so listings can skip them.
    static let temporaryMarker = ".pinpipe-tmp."

    private static func writeAtomically(_ target: String, write: (Int32, String) throws -> Void) throws {
        try publish(stageFile(target, write: write))
    }

    /// Writes and fsyncs a hidden temporary file beside `target`; removed again if anything fails.
    private static func stageFile(_ target: String, write: (Int32, String) throws -> Void) throws -> StagedObject {
        let slash = target.lastIndex(of: "/")!
        let directory = slash == target.startIndex ? "/" : String(target[..<slash])
        try makeDirectories(directory)
        let temporary = directory + "/" + temporaryMarker + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ObjectStoreError.posix("create", path: temporary) }
        do {
            try write(fd, temporary)
            guard fsync(fd) == 0 else { throw ObjectStoreError.posix("fsync", path: temporary) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard close(fd) == 0 else {
            unlink(temporary)
            throw ObjectStoreError.posix("close", path: temporary)
        }
        return StagedObject(temporaryPath: temporary, targetPath: target, directory: directory)
    }

    private static func publish(_ staged: StagedObject) throws {
        guard rename(staged.temporaryPath, staged.targetPath) == 0 else {
            let error = ObjectStoreError.posix("rename", path: staged.targetPath)
            unlink(staged.temporaryPath)
            throw error
        }
        // The rename is durable only once the directory entry is.
        try syncDirectory(staged.directory)
    }

    private static func makeDirectories(_ directory: String) throws(ObjectStoreError) {
        var info = stat()
        if stat(directory, &info) == 0 { return }
        let slash = directory.lastIndex(of: "/")!
        if slash != directory.startIndex { try makeDirectories(String(directory[..<slash])) }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw .posix("mkdir", path: directory) }
        let parent = slash == directory.startIndex ? "/" : String(directory[..<slash])
        try syncDirectory(parent)
    }

    private static func syncDirectory(_ directory: String) throws(ObjectStoreError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix("open", path: directory) }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw .posix("fsync", path: directory) }
    }

    private func removeEmptyParents(of path: String) {
        var directory = path
        while let slash = directory.lastIndex(of: "/") {
            directory = String(directory[..<slash])
            guard directory.count > root.count, rmdir(directory) == 0 else { return }
        }
    }

    // MARK: Leftovers

    /// Removes the hidden temporary files under `prefix` last written more than `age` seconds ago:
    /// what writers killed mid-write (SIGKILL, power loss) left behind; listings never show them.
    /// Returns how many were removed.
    @discardableResult
    public func removeTemporaryFiles(under prefix: String, olderThan age: TimeInterval) throws -> Int {
        let slash = prefix.lastIndex(of: "/")
        let base = slash.map { String(prefix[...$0]) } ?? ""
        let cutoff = Date().timeIntervalSince1970 - age
        var removed = 0
        try walk(
            directory: base.isEmpty ? root : path(for: String(base.dropLast())), keyPrefix: base, temporaryFiles: true
        ) { key, info in
            let modified = Double(info.st_mtim.tv_sec)
            guard modified < cutoff else { return }
            if unlink(path(for: key)) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: Listing

    private func listSync(prefix: String) throws -> [ObjectInfo] {
        // Walk only below the deepest directory the prefix names.
        let slash = prefix.lastIndex(of: "/")
        let base = slash.map { String(prefix[...$0]) } ?? ""
        var results: [ObjectInfo] = []
        try walk(directory: base.isEmpty ? root : path(for: String(base.dropLast())), keyPrefix: base) { key, info in
            if key.hasPrefix(prefix) { results.append(Self.objectInfo(key: key, info)) }
        }
        // S3 order: UTF-8 bytes.
        results.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return results
    }

    /// Visits the objects below `directory`, or with `temporaryFiles` the hidden temporary files instead.
    private func walk(
        directory: String, keyPrefix: String, temporaryFiles: Bool = false, visit: (String, stat) -> Void
    ) throws {
        guard let handle = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return }
            throw ObjectStoreError.posix("list", path: directory)
        }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let isTemporary = name.hasPrefix(Self.temporaryMarker)
            let full = directory + "/" + name
            var info = stat()
            guard stat(full, &info) == 0 else { continue }  // vanished or a dangling link
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(
                    directory: full, keyPrefix: keyPrefix + name + "/", temporaryFiles: temporaryFiles, visit: visit)
            case S_IFREG where isTemporary == temporaryFiles: visit(keyPrefix + name, info)
            default: continue
            }
        }
    }

    private static func objectInfo(key: String, _ info: stat) -> ObjectInfo {
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return ObjectInfo(
            key: key, size: Int64(info.st_size), etag: nil, lastModified: Date(timeIntervalSince1970: modified))
    }
}
