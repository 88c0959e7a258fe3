/// How a file or object of NDJSON is compressed as a whole (the `.gz` and `.zst` suffixes).
public enum StreamFormat: String, Sendable, CaseIterable {
    case none
    case gzip
    case zstd

    /// The file-name suffix, with its dot, that marks this format ("" for none).
    public var fileExtension: String {
        switch self {
        case .none: ""
        case .gzip: ".gz"
        case .zstd: ".zst"
        }
    }

    /// The format a file name's suffix announces: `.gz` → gzip, `.zst` → zstd, anything else → none.
    public init(fileName: String) {
        if fileName.hasSuffix(".gz") {
            self = .gzip
        } else if fileName.hasSuffix(".zst") || fileName.hasSuffix(".zstd") {
            self = .zstd
        } else {
            self = .none
        }
    }

    /// The format the first bytes reveal (gzip 1f 8b, zstd 28 b5 2f fd), or nil.
    public init?(magic bytes: some Collection<UInt8>) {
        let head = Array(bytes.prefix(4))
        if head.count >= 2, head[0] == 0x1F, head[1] == 0x8B {
            self = .gzip
        } else if head == [0x28, 0xB5, 0x2F, 0xFD] {
            self = .zstd
        } else {
            return nil
        }
    }
}
