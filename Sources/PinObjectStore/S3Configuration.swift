import Foundation

/// Where and how an ``S3Store`` talks to S3.
public struct S3Configuration: Sendable, CustomStringConvertible {
    public var credentials: SigV4Signer.Credentials
    public var region: String
    /// A custom endpoint such as `http://127.0.0.1:19000` (MinIO, moto, LocalStack); nil means AWS.
    public var endpoint: String?
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted (`bucket.s3…/key`).
    /// On by default with a custom endpoint.
    public var usePathStyle: Bool
    public var retry: RetryPolicy = RetryPolicy()
    /// Objects larger than this are uploaded in parts.
    public var multipartThreshold: Int = 16 << 20
    /// The part size of multipart uploads (S3's minimum is 5 MiB for all but the last part).
    public var partSize: Int = 16 << 20
    /// Parts uploaded at the same time; memory for a file upload is this many parts.
    public var uploadConcurrency = 4
    /// Sign upload bodies (hash them) or send `UNSIGNED-PAYLOAD`; signing costs one SHA-256 pass.
    public var signPayload = true
    public var connectTimeoutSeconds = 10
    /// A transfer that moves nothing for this long is abandoned (and retried).
    public var stallTimeoutSeconds = 60

    public init(
        credentials: SigV4Signer.Credentials, region: String = "us-east-1", endpoint: String? = nil,
        usePathStyle: Bool? = nil
    ) {
        self.credentials = credentials
        self.region = region
        self.endpoint = endpoint.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.usePathStyle = usePathStyle ?? (endpoint != nil)
    }

    /// Reads the standard AWS variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION` (default us-east-1), `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ObjectStoreError) -> S3Configuration
    {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return text
        }
        guard let accessKey = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw ObjectStoreError(
                .missingCredentials, operation: "configure", target: "s3",
                message: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let endpoint = value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL")
        if let endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw ObjectStoreError(
                .invalidLocation, operation: "configure", target: endpoint,
                message: "the S3 endpoint must start with http:// or https://")
        }
        return S3Configuration(
            credentials: .init(
                accessKeyID: accessKey, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")),
            region: value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1",
            endpoint: endpoint)
    }

    public var description: String {
        "S3Configuration(region: \(region), endpoint: \(endpoint ?? "AWS"), pathStyle: \(usePathStyle), \(credentials))"
    }
}
