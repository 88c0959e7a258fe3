import Foundation

/// An ``ObjectStore`` over one S3 bucket (AWS or any S3-compatible service), over libcurl with
/// Signature V4. Transient failures are retried per ``S3Configuration/retry``; curl handles (and
/// their connections) are pooled and reused.
public final class S3Store: ObjectStore {
    public let bucket: String
    public let configuration: S3Configuration
    private let signer: SigV4Signer
    private let client: CurlClient
    private let scheme: String
    /// The Host header (with a port where not the default) and the path up to the key.
    private let host: String
    private let bucketPath: String

    public init(bucket: String, configuration: S3Configuration) throws(ObjectStoreError) {
        guard !bucket.isEmpty, !bucket.contains("/") else {
            throw ObjectStoreError(
                .invalidLocation, operation: "open", target: "s3://\(bucket)", message: "invalid bucket name")
        }
        self.bucket = bucket
        self.configuration = configuration
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
        self.client = CurlClient(
            connectTimeoutSeconds: configuration.connectTimeoutSeconds,
            stallTimeoutSeconds: configuration.stallTimeoutSeconds)

        var scheme = "https"
        var authority = "s3.\(configuration.region).amazonaws.com"
        var basePath = ""
        if let endpoint = configuration.endpoint {
            let parts = endpoint.split(separator: "://", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw ObjectStoreError(
                    .invalidLocation, operation: "open", target: endpoint, message: "invalid S3 endpoint URL")
            }
            scheme = parts[0].lowercased()
            let rest = parts[1]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            authority = String(rest[..<slash])
            basePath = String(rest[slash...])
            while basePath.hasSuffix("/") { basePath.removeLast() }
        }
        // Virtual-hosted names with dots break TLS certificate matching: those buckets go path-style.
        if configuration.usePathStyle || (scheme == "https" && bucket.contains(".")) {
            host = authority
            bucketPath = basePath + "/" + bucket
        } else {
            host = bucket + "." + authority
            bucketPath = basePath
        }
        self.scheme = scheme
    }

    /// A store for `bucket` configured from the standard AWS environment variables.
    public convenience init(bucket: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ObjectStoreError)
    {
        try self.init(bucket: bucket, configuration: .fromEnvironment(environment))
    }

    public func describe(_ key: String) -> String { "s3://\(bucket)/\(key)" }

    /// New connections opened so far; requests on a kept-alive connection do not count.
    var connectionsOpened: Int { client.connectionsOpened }

    // MARK: ObjectStore

    public func put(_ key: String, bytes: [UInt8]) async throws {
        try await BlockingCall.run {
            try bytes.withUnsafeBytes { buffer in
                if buffer.count > configuration.multipartThreshold {
                    try multipartUpload(key, size: buffer.count) { range, uploadPart in
                        try uploadPart(UnsafeRawBufferPointer(rebasing: buffer[range]))
                    }
                } else {
                    try putObject(key, body: buffer)
                }
            }
        }
    }

    public func put(_ key: String, contentsOfFile path: String) async throws {
        try await BlockingCall.run {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ObjectStoreError.posix("open", path: path) }
            defer { close(fd) }
            let size = Int(try FileIO.fileSize(fd, path: path))
            if size <= configuration.multipartThreshold {
                var buffer = [UInt8](repeating: 0, count: size)
                let count = try buffer.withUnsafeMutableBytes { try FileIO.readFully(fd, into: $0, path: path) }
                try buffer.withUnsafeBytes { try putObject(key, body: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                return
            }
            // Each part is read when its upload starts: memory stays at one part per concurrent upload.
            try multipartUpload(key, size: size) { range, uploadPart in
                var buffer = [UInt8](repeating: 0, count: range.count)
                let count = try buffer.withUnsafeMutableBytes {
                    try FileIO.readFully(fd, into: $0, at: range.lowerBound, path: path)
                }
                guard count == range.count else {
                    throw ObjectStoreError(
                        .io, operation: "read", target: path, message: "the file shrank while it was being uploaded")
                }
                try buffer.withUnsafeBytes { try uploadPart($0) }
            }
        }
    }

    public func get(_ key: String) async throws -> [UInt8] {
        try await BlockingCall.run {
            // Through a sink, so that a broken transfer resumes where it stopped.
            var bytes: [UInt8] = []
            _ = try send("GET", key: try checked(key), sink: { bytes.append(contentsOf: $0) })
            return bytes
        }
    }

    public func get(_ key: String, chunks body: (UnsafeRawBufferPointer) throws -> Void) async throws {
        try await BlockingCall.run {
            // The handler lives only as long as this transfer.
            _ = try withoutActuallyEscaping(body) { handler in
                try send("GET", key: try checked(key), sink: handler)
            }
        }
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        try await BlockingCall.run {
            let response = try send("HEAD", key: try checked(key), accept: [404])
            if response.status == 404 { return nil }
            return ObjectInfo(
                key: key,
                size: Int64(response.headers["content-length"] ?? "") ?? 0,
                etag: response.headers["etag"].map(Self.unquote),
                lastModified: response.headers["last-modified"].flatMap(HTTPDate.parseRFC1123))
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try await BlockingCall.run { try listAll(prefix: prefix, delimiter: nil).objects }
    }

    public func list(prefix: String, delimiter: String) async throws -> ObjectListing {
        try await BlockingCall.run { try listAll(prefix: prefix, delimiter: delimiter) }
    }

    public func delete(_ key: String) async throws {
        try await BlockingCall.run {
            _ = try send("DELETE", key: try checked(key))
        }
    }

    public func delete(keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        try await BlockingCall.run {
            // DeleteObjects takes at most 1,000 keys a request.
            var start = 0
            while start < keys.count {
                let batch = keys[start..<min(keys.count, start + 1000)]
                try deleteObjects(Array(batch))
                start += batch.count
            }
        }
    }

    // MARK: Bucket management (for tests and stack set-up)

    /// Creates the bucket; an existing bucket of ours is fine.
    public func createBucket() async throws {
        try await BlockingCall.run {
            var body: [UInt8] = []
            if configuration.region != "us-east-1" {
                body = Array(
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>"
                        .utf8)
            }
            do {
                _ = try body.withUnsafeBytes { try send("PUT", key: nil, body: $0) }
            } catch let error as ObjectStoreError where error.code == "BucketAlreadyOwnedByYou" {
                return
            }
        }
    }

    /// Deletes the bucket, which must be empty.
    public func deleteBucket() async throws {
        try await BlockingCall.run { _ = try send("DELETE", key: nil) }
    }

    // MARK: Operations (blocking; run on a BlockingCall thread)

    private func putObject(_ key: String, body: UnsafeRawBufferPointer) throws {
        _ = try send("PUT", key: try checked(key), headers: [("content-type", Self.contentType(for: key))], body: body)
    }

    /// Create, upload the parts (`readPart` hands each byte range's data to `uploadPart`, several
    /// at a time), complete; abort on any failure so no orphaned parts are left to be billed.
    private func multipartUpload(
        _ key: String, size: Int,
        readPart: (_ range: Range<Int>, _ uploadPart: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        // S3 allows at most 10,000 parts: larger objects get larger parts.
        let partSize = max(configuration.partSize, (size + 9_999) / 10_000)
        let partCount = (size + partSize - 1) / partSize
        let key = try checked(key)
        let created = try send(
            "POST", key: key, query: [("uploads", "")], headers: [("content-type", Self.contentType(for: key))],
            body: UnsafeRawBufferPointer(start: nil, count: 0))
        guard let uploadID = XMLNode.parse(created.body)?.value("UploadId"), !uploadID.isEmpty else {
            throw invalidResponse("create multipart upload", key: key)
        }
        do {
            let lock = NSLock()
            var etags = [String](repeating: "", count: partCount)
            try ParallelWork.run(count: partCount, width: configuration.uploadConcurrency) { index in
                let range = (index * partSize)..<min(size, (index + 1) * partSize)
                try readPart(range) { part in
                    let response = try send(
                        "PUT", key: key, query: [("partNumber", String(index + 1)), ("uploadId", uploadID)], body: part)
                    guard let etag = response.headers["etag"] else {
                        throw invalidResponse("upload part \(index + 1)", key: key)
                    }
                    lock.withLock { etags[index] = etag }
                }
            }
            var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for (index, etag) in etags.enumerated() {
                xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(XMLNode.escape(etag))</ETag></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let response = try Array(xml.utf8).withUnsafeBytes {
                try send(
                    "POST", key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
                    body: $0)
            }
            // CompleteMultipartUpload can fail with status 200 and an Error document.
            if let root = XMLNode.parse(response.body), root.name == "Error" {
                throw s3Error(
                    root: root, status: response.status, operation: "complete multipart upload", key: key,
                    requestID: nil)
            }
        } catch {
            // Sent even when the failure was a cancellation.
            _ = try? send("DELETE", key: key, query: [("uploadId", uploadID)], retry: false, cancellable: false)
            throw error
        }
    }

    private func listAll(prefix: String, delimiter: String?) throws -> ObjectListing {
        var listing = ObjectListing(objects: [], commonPrefixes: [])
        var token: String?
        repeat {
            var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix)]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let token { query.append(("continuation-token", token)) }
            let response = try send("GET", key: nil, query: query)
            guard let root = XMLNode.parse(response.body), root.name == "ListBucketResult" else {
                throw invalidResponse("list", key: prefix)
            }
            for item in root.children("Contents") {
                guard let key = item.value("Key") else { continue }
                listing.objects.append(
                    ObjectInfo(
                        key: key, size: Int64(item.value("Size") ?? "") ?? 0,
                        etag: item.value("ETag").map(Self.unquote),
                        lastModified: item.value("LastModified").flatMap(HTTPDate.parseISO8601)))
            }
            for common in root.children("CommonPrefixes") {
                if let value = common.value("Prefix") { listing.commonPrefixes.append(value) }
            }
            token = root.value("IsTruncated") == "true" ? root.value("NextContinuationToken") : nil
        } while token != nil
        return listing
    }

    private func deleteObjects(_ keys: [String]) throws {
        var xml = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        for key in keys { xml += "<Object><Key>\(XMLNode.escape(try checked(key)))</Key></Object>" }
        xml += "</Delete>"
        let body = Array(xml.utf8)
        let response = try body.withUnsafeBytes { buffer in
            try send(
                "POST", key: nil, query: [("delete", "")],
                headers: [("content-type", "application/xml"), ("content-md5", Digest.base64(Digest.md5(buffer)))],
                body: buffer)
        }
        guard let root = XMLNode.parse(response.body) else { throw invalidResponse("delete objects", key: keys[0]) }
        let failures = root.children("Error")
        if let first = failures.first {
            var error = s3Error(
                root: first, status: response.status, operation: "delete objects", key: first.value("Key") ?? keys[0],
                requestID: nil)
            if failures.count > 1 { error.message += " (and \(failures.count - 1) more keys failed)" }
            throw error
        }
    }

    // MARK: Requests

    /// Signs and sends one request, retrying transient failures. Answers outside 2xx (and `accept`) throw.
    private func send(
        _ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: UnsafeRawBufferPointer? = nil, sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil,
        accept: Set<Int> = [], retry: Bool = true, cancellable: Bool = true
    ) throws -> HTTPResponse {
        let cancellation = cancellable ? CancellationFlag.current : .never
        let path = key.map { bucketPath + "/" + $0 } ?? (bucketPath.isEmpty ? "/" : bucketPath)
        let queryString = SigV4Signer.canonicalQuery(query.map { (name: $0.0, value: $0.1) })
        let url = scheme + "://" + host + SigV4Signer.encodePath(path) + (queryString.isEmpty ? "" : "?" + queryString)
        let payloadHash: String
        if let body, body.count > 0 {
            payloadHash = configuration.signPayload ? Digest.hex(Digest.sha256(body)) : SigV4Signer.unsignedPayload
        } else {
            payloadHash = SigV4Signer.emptyPayloadHash
        }
        let operation = method == "POST" && query.contains { $0.0 == "delete" } ? "DELETE objects" : method
        let target = key.map(describe) ?? "s3://\(bucket)"
        let policy = retry ? configuration.retry : RetryPolicy(maxAttempts: 1)

        var attempt = 1
        // Where a download broken after some data resumes, and the version it must still be.
        var resumeOffset = 0
        var resumeETag: String?
        while true {
            try cancellation.check()
            // Signed afresh on every attempt: the signature includes the time.
            var requestHeaders: [(name: String, value: String)] =
                [("host", host)] + headers.map { (name: $0.0, value: $0.1) }
            if resumeOffset > 0, let resumeETag {
                requestHeaders += [("range", "bytes=\(resumeOffset)-"), ("if-match", resumeETag)]
            }
            let signature = signer.sign(
                .init(
                    method: method, path: path, query: query.map { (name: $0.0, value: $0.1) }, headers: requestHeaders,
                    payloadHash: payloadHash),
                at: Date())
            requestHeaders += signature.addedHeaders
            let error: ObjectStoreError
            do {
                let response = try client.perform(
                    HTTPRequest(method: method, url: url, headers: requestHeaders, body: body), sink: sink,
                    resumeOffset: resumeOffset, cancellation: cancellation)
                if (200..<300).contains(response.status) || accept.contains(response.status) { return response }
                error = s3Error(response: response, operation: operation, key: target)
            } catch let failure as CurlFailure {
                error = ObjectStoreError(
                    .connectionFailed, operation: operation, target: target, code: "curl \(failure.code)",
                    message: failure.message + (attempt > 1 ? " (after \(attempt) attempts)" : ""))
                // Data already handed to the caller cannot be taken back: go on from where it stopped,
                // and only if the object is still the same version.
                var resumable = failure.bytesDelivered == 0
                if failure.bytesDelivered > 0, let etag = failure.etag ?? resumeETag {
                    resumeOffset += failure.bytesDelivered
                    resumeETag = etag
                    resumable = true
                }
                guard failure.retryable, resumable, attempt < policy.maxAttempts else { throw error }
                try cancellation.sleep(policy.delay(afterAttempt: attempt))
                attempt += 1
                continue
            }
            guard error.isTransient, attempt < policy.maxAttempts else { throw error }
            try cancellation.sleep(policy.delay(afterAttempt: attempt))
            attempt += 1
        }
    }

    private func s3Error(response: HTTPResponse, operation: String, key target: String) -> ObjectStoreError {
        let requestID = response.headers["x-amz-request-id"]
        if let root = XMLNode.parse(response.body), root.name == "Error" {
            return s3Error(root: root, status: response.status, operation: operation, key: target, requestID: requestID)
        }
        // HEAD answers and some proxies carry no XML: name the code from the status.
        let code: String? =
            switch response.status {
            case 404: operation == "HEAD" || operation == "GET" ? "NoSuchKey" : nil
            case 403: "AccessDenied"
            case 429: "SlowDown"
            default: nil
            }
        let error = ObjectStoreError(
            code.map { ObjectStoreError.kind(forS3Code: $0, status: response.status) }
                ?? ObjectStoreError.kind(forS3Code: "", status: response.status),
            operation: operation, target: target, code: code,
            message: "the service answered HTTP \(response.status)", httpStatus: response.status, requestID: requestID)
        return error
    }

    private func s3Error(root: XMLNode, status: Int, operation: String, key target: String, requestID: String?)
        -> ObjectStoreError
    {
        let code = root.value("Code") ?? "UnknownError"
        let target = code == "NoSuchBucket" ? "s3://\(bucket)" : target
        return ObjectStoreError(
            ObjectStoreError.kind(forS3Code: code, status: status), operation: operation, target: target, code: code,
            message: root.value("Message") ?? "no message", httpStatus: status,
            requestID: root.value("RequestId") ?? requestID)
    }

    private func invalidResponse(_ operation: String, key: String) -> ObjectStoreError {
        ObjectStoreError(
            .invalidResponse, operation: operation, target: describe(key),
            message: "the service's answer could not be read")
    }

    private func checked(_ key: String) throws(ObjectStoreError) -> String {
        guard !key.isEmpty, key.utf8.count <= 1024 else {
            throw ObjectStoreError(
                .invalidKey, operation: "use key", target: describe(key), message: "keys must be 1 to 1,024 bytes long")
        }
        return key
    }

    static func unquote(_ etag: String) -> String {
        etag.count >= 2 && etag.hasPrefix("\"") && etag.hasSuffix("\"") ? String(etag.dropFirst().dropLast()) : etag
    }

    static func contentType(for key: String) -> String {
        if key.hasSuffix(".jsonl") || key.hasSuffix(".ndjson") { return "application/x-ndjson" }
        if key.hasSuffix(".json") { return "application/json" }
        if key.hasSuffix(".parquet") { return "application/vnd.apache.parquet" }
        if key.hasSuffix(".gz") { return "application/gzip" }
        if key.hasSuffix(".zst") { return "application/zstd" }
        return "application/octet-stream"
    }
}
