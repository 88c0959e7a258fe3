import Foundation

/// Where objects live, as the tools take it on the command line: `s3://bucket/prefix`,
/// `file:///path` or a plain directory path.
public enum ObjectLocation: Sendable, Hashable, CustomStringConvertible {
    /// A bucket and a key prefix that is empty or ends with `/`.
    case s3(bucket: String, prefix: String)
    /// An absolute directory path.
    case directory(String)

    public init(parsing text: String) throws(ObjectStoreError) {
        func invalid(_ why: String) -> ObjectStoreError {
            ObjectStoreError(.invalidLocation, operation: "parse location", target: text, message: why)
        }
        if text.hasPrefix("s3://") || text.hasPrefix("S3://") {
            let rest = text.dropFirst(5)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let bucket = String(rest[..<slash])
            guard !bucket.isEmpty else { throw invalid("no bucket name after s3://") }
            var prefix = String(rest[slash...].drop { $0 == "/" })
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            self = .s3(bucket: bucket, prefix: prefix)
        } else if text.hasPrefix("file://") {
            var path = String(text.dropFirst(7))
            if path.hasPrefix("localhost/") { path.removeFirst(9) }
            guard path.hasPrefix("/") else { throw invalid("a file:// location needs an absolute path (file:///path)") }
            self = .directory(LocalDirectoryStore(root: path.removingPercentEncoding ?? path).root)
        } else if let scheme = text.range(of: "://"), !text[..<scheme.lowerBound].contains("/") {
            throw invalid("unsupported scheme \(text[..<scheme.lowerBound]) (use s3://, file:// or a path)")
        } else {
            guard !text.isEmpty else { throw invalid("empty location") }
            self = .directory(LocalDirectoryStore(root: text).root)
        }
    }

    public var description: String {
        switch self {
        case .s3(let bucket, let prefix): "s3://\(bucket)/\(prefix)"
        case .directory(let path): path
        }
    }

    /// The key prefix objects of this location share inside its store ("" or ending with `/`).
    public var prefix: String {
        switch self {
        case .s3(_, let prefix): prefix
        case .directory: ""
        }
    }

    /// Opens the store behind the location; S3 settings come from the standard AWS variables.
    public func open(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ObjectStoreError)
        -> any ObjectStore
    {
        switch self {
        case .s3(let bucket, _): try S3Store(bucket: bucket, environment: environment)
        case .directory(let path): LocalDirectoryStore(root: path)
        }
    }
}

/// Opens stores from location strings.
public enum ObjectStores {
    /// The store for `location` and the key prefix to put in front of every key used in it,
    /// e.g. `s3://bucket/raw` gives an ``S3Store`` and `raw/`.
    public static func open(
        location: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ObjectStoreError) -> (store: any ObjectStore, prefix: String) {
        let parsed = try ObjectLocation(parsing: location)
        return (try parsed.open(environment: environment), parsed.prefix)
    }
}
