import Foundation

/// One stored object as a listing or a HEAD request reports it.
public struct ObjectInfo: Sendable, Hashable {
    /// The full key inside the store (including any location prefix).
    public var key: String
    public var size: Int64
    /// The entity tag without surrounding quotes; nil where the store has none (local directories).
    public var etag: String?
    public var lastModified: Date?

    public init(key: String, size: Int64, etag: String? = nil, lastModified: Date? = nil) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// A listing split at a delimiter: the objects directly under the prefix and the "folders" below it.
public struct ObjectListing: Sendable, Hashable {
    public var objects: [ObjectInfo]
    /// Each common prefix ends with the delimiter, e.g. `raw/topic/dt=2024-01-01/`.
    public var commonPrefixes: [String]

    public init(objects: [ObjectInfo], commonPrefixes: [String]) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
    }
}

/// A flat key/value store of immutable objects: an S3 bucket or a local directory.
///
/// Keys are `/`-separated paths without a leading `/`. A `put` is atomic: readers see the whole
/// old object, the whole new one, or nothing. Operations throw ``ObjectStoreError`` (and rethrow
/// whatever a caller's chunk handler throws).
public protocol ObjectStore: Sendable {
    /// Where a key lives, for messages: `s3://bucket/key` or `/directory/key`.
    func describe(_ key: String) -> String

    /// Stores `bytes` under `key`, replacing any object there.
    func put(_ key: String, bytes: [UInt8]) async throws

    /// Stores the contents of a local file, streamed (memory bounded by one part, not the file size).
    func put(_ key: String, contentsOfFile path: String) async throws

    /// The whole object. Throws `.noSuchKey` if it does not exist.
    func get(_ key: String) async throws -> [UInt8]

    /// Streams the object to `body` chunk by chunk; a chunk is valid only during the call.
    /// Throws `.noSuchKey` if it does not exist.
    func get(_ key: String, chunks body: (UnsafeRawBufferPointer) throws -> Void) async throws

    /// Size, entity tag and modification time, or nil if there is no such object.
    func head(_ key: String) async throws -> ObjectInfo?

    /// Every object whose key starts with `prefix`, sorted by key (UTF-8 byte order), however many there are.
    func list(prefix: String) async throws -> [ObjectInfo]

    /// The objects directly under `prefix` and the common prefixes up to the next `delimiter`.
    func list(prefix: String, delimiter: String) async throws -> ObjectListing

    /// Removes one object; removing a missing object is not an error.
    func delete(_ key: String) async throws

    /// Removes many objects (S3: 1,000 per request); missing objects are not an error.
    func delete(keys: [String]) async throws
}

/// A store whose put splits in two: ``stage(_:bytes:)`` does the slow, durable part (a local
/// directory: write and fsync a hidden file) and ``publish(_:)`` makes the object appear (the
/// rename). Several objects can then be written at once and still appear in a chosen order.
/// Both block the calling thread: call them from a thread of your own, not from Swift's pool.
public protocol StagingObjectStore: ObjectStore {
    /// Writes the object durably without making it visible under `key` yet.
    func stage(_ key: String, bytes: [UInt8]) throws -> StagedObject

    /// Makes a staged object visible under its key, durably, replacing any object there.
    func publish(_ staged: StagedObject) throws

    /// Removes a staged object that will not be published.
    func discard(_ staged: StagedObject)
}

/// An object written by ``StagingObjectStore/stage(_:bytes:)`` and not yet published.
public struct StagedObject: Sendable {
    public let temporaryPath: String
    public let targetPath: String
    /// The folder of both, synced after the rename.
    public let directory: String
}

extension ObjectStore {
    /// Whether an object exists under `key`.
    public func exists(_ key: String) async throws -> Bool {
        try await head(key) != nil
    }

    /// Removes every object under `prefix`; returns how many there were.
    @discardableResult
    public func deleteAll(prefix: String) async throws -> Int {
        let keys = try await list(prefix: prefix).map(\.key)
        try await delete(keys: keys)
        return keys.count
    }

    /// Copies the object to a local file (created or truncated), streaming.
    public func download(_ key: String, toFile path: String) async throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ObjectStoreError.posix("open", path: path) }
        defer { close(fd) }
        try await get(key) { chunk in try FileIO.writeAll(fd, chunk, path: path) }
    }
}
