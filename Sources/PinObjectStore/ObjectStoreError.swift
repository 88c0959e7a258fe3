/// An object store failure. `description` names the operation, the object and the service's
/// error code and message; it never contains credentials.
public struct ObjectStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case noSuchBucket
        case noSuchKey
        case accessDenied
        case invalidAccessKeyID
        case signatureDoesNotMatch
        /// 429, SlowDown and similar: the service asked us to back off (and kept asking).
        case throttled
        /// A 5xx answer that persisted through the retries.
        case serverError
        /// Any other error answer from the service.
        case requestFailed
        /// The service could not be reached or the connection broke (after retries).
        case connectionFailed
        /// The service answered something we could not understand.
        case invalidResponse
        case invalidLocation
        case invalidKey
        case missingCredentials
        /// A local file-system error.
        case io
    }

    public var kind: Kind
    /// What was being done, e.g. `PUT`, `list`.
    public var operation: String
    /// The object or location involved, e.g. `s3://bucket/key`.
    public var target: String
    /// The service's error code (S3: `NoSuchKey`, `SlowDown`, …) or the errno/curl name.
    public var code: String?
    public var message: String
    public var httpStatus: Int?
    public var requestID: String?

    public init(
        _ kind: Kind, operation: String, target: String, code: String? = nil, message: String,
        httpStatus: Int? = nil, requestID: String? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.target = target
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.requestID = requestID
    }

    /// Whether trying again later may succeed.
    public var isTransient: Bool {
        switch kind {
        case .throttled, .serverError, .connectionFailed: true
        default: false
        }
    }

    public var description: String {
        var text = "\(operation) \(target): "
        if let code { text += code }
        if let httpStatus { text += code == nil ? "HTTP \(httpStatus)" : " (HTTP \(httpStatus))" }
        if code != nil || httpStatus != nil { text += ": " }
        text += message
        if let requestID { text += " [request id \(requestID)]" }
        return text
    }

    /// The kind an S3 error code stands for.
    static func kind(forS3Code code: String, status: Int) -> Kind {
        switch code {
        case "NoSuchBucket": return .noSuchBucket
        case "NoSuchKey": return .noSuchKey
        case "AccessDenied", "AllAccessDisabled", "AccountProblem": return .accessDenied
        case "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "TokenRefreshRequired": return .invalidAccessKeyID
        case "SignatureDoesNotMatch", "RequestTimeTooSkewed": return .signatureDoesNotMatch
        case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests":
            return .throttled
        case "InternalError", "ServiceUnavailable", "RequestTimeout": return .serverError
        default:
            if status == 429 { return .throttled }
            if status >= 500 { return .serverError }
            return .requestFailed
        }
    }
}
