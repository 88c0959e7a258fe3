import Foundation

@testable import PinObjectStore

/// The S3 server the tests use: the tools' variables, else the local stack's defaults.
enum TestS3 {
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if environment["AWS_ENDPOINT_URL_S3", default: ""].isEmpty
            && environment["AWS_ENDPOINT_URL", default: ""].isEmpty
        {
            environment["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:19000"
        }
        if environment["AWS_ACCESS_KEY_ID", default: ""].isEmpty
            || environment["AWS_SECRET_ACCESS_KEY", default: ""].isEmpty
        {
            environment["AWS_ACCESS_KEY_ID"] = "test"
            environment["AWS_SECRET_ACCESS_KEY"] = "test"
        }
        if environment["AWS_REGION", default: ""].isEmpty && environment["AWS_DEFAULT_REGION", default: ""].isEmpty {
            environment["AWS_REGION"] = "us-east-1"
        }
        return environment
    }

    static func configuration() throws -> S3Configuration {
        var configuration = try S3Configuration.fromEnvironment(environment)
        configuration.retry = RetryPolicy(maxAttempts: 3, initialDelay: 0.05, maxDelay: 0.5)
        return configuration
    }

    static func randomName(_ stem: String) -> String {
        "pinpipe-\(stem)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    /// A new, empty bucket with a random name.
    static func freshBucket(_ stem: String, configure: (inout S3Configuration) -> Void = { _ in }) async throws
        -> S3Store
    {
        var configuration = try configuration()
        configure(&configuration)
        let store = try S3Store(bucket: randomName(stem), configuration: configuration)
        try await store.createBucket()
        return store
    }

    /// Deterministic pseudo-random bytes.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }
}
