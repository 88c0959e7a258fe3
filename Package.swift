// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "pinpipe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pin-api", targets: ["pin-api"]),
        .executable(name: "pin-produce", targets: ["pin-produce"]),
        .executable(name: "pin-consume-s3", targets: ["pin-consume-s3"]),
        .executable(name: "pin-batch", targets: ["pin-batch"]),
        .executable(name: "pin-stream-pg", targets: ["pin-stream-pg"]),
        .executable(name: "pin-emulate", targets: ["pin-emulate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // pin-api's HTTP server: the event loops and the HTTP/1.1 codec.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        // C libraries from Debian: a module map and a shim header each, nothing else.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),

        // The core: records, cleaning rules, NDJSON, shared command-line conventions.
        .target(
            name: "PinCore",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            resources: [.copy("Resources/pins.jsonl")],
            swiftSettings: strict
        ),

        // One module per outside system.
        .target(name: "PinKafka", dependencies: ["CRdKafka", "PinCompression"], swiftSettings: strict),
        .target(name: "PinObjectStore", dependencies: ["CCurl", "CLibCrypto"], swiftSettings: strict),
        .target(name: "PinPostgres", dependencies: ["CLibPQ"], swiftSettings: strict),
        .target(name: "PinCompression", dependencies: ["CZlib", "CZstd", "CSnappy", "CLZ4"], swiftSettings: strict),
        .target(name: "PinParquet", dependencies: ["PinCompression"], swiftSettings: strict),
        .target(
            name: "PinArchive", dependencies: ["PinCore", "PinKafka", "PinObjectStore", "PinCompression"],
            swiftSettings: strict),

        // Thin commands.
        .executableTarget(
            name: "pin-api",
            dependencies: [
                "PinCore", "PinKafka",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "pin-produce", dependencies: ["PinCore", "PinKafka"], swiftSettings: strict),
        .executableTarget(
            name: "pin-consume-s3",
            dependencies: ["PinCore", "PinKafka", "PinObjectStore", "PinCompression", "PinArchive"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "pin-batch",
            dependencies: ["PinCore", "PinObjectStore", "PinCompression", "PinParquet"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "pin-stream-pg", dependencies: ["PinCore", "PinKafka", "PinPostgres"], swiftSettings: strict),
        .executableTarget(name: "pin-emulate", dependencies: ["PinCore"], swiftSettings: strict),

        .testTarget(name: "EndToEndTests", dependencies: ["PinCore", "PinKafka"], swiftSettings: strict),
        .testTarget(
            name: "PinCoreTests", dependencies: ["PinCore"], resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "PinKafkaTests", dependencies: ["PinKafka"], swiftSettings: strict),
        .testTarget(name: "PinPostgresTests", dependencies: ["PinPostgres"], swiftSettings: strict),
        .testTarget(
            name: "PinObjectStoreTests", dependencies: ["PinObjectStore"],
            exclude: ["sign_with_botocore.py", "fake_s3_server.py"], swiftSettings: strict),
        .testTarget(name: "PinCompressionTests", dependencies: ["PinCompression"], swiftSettings: strict),
        .testTarget(
            name: "PinParquetTests",
            dependencies: ["PinParquet", "PinCompression"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StreamToPostgresTests", dependencies: ["PinCore", "PinKafka", "PinPostgres"], swiftSettings: strict),
        .testTarget(
            name: "BatchTests",
            dependencies: ["PinCore", "PinCompression", "PinObjectStore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PinArchiveTests", dependencies: ["PinArchive", "PinCore", "PinObjectStore", "PinCompression"],
            swiftSettings: strict),
        .testTarget(
            name: "ArchiveToS3Tests", dependencies: ["PinArchive", "PinKafka", "PinObjectStore", "PinCompression"],
            swiftSettings: strict),
    ]
)
