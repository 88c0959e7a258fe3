import CCurl
import Foundation

/// One HTTP exchange for the S3 client.
struct HTTPRequest {
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    /// The body to upload; nil sends none.
    var body: UnsafeRawBufferPointer?
}

struct HTTPResponse {
    var status: Int
    /// Lower-case header names.
    var headers: [String: String]
    /// The body, unless a successful answer went to a chunk handler.
    var body: [UInt8]
}

/// A transport failure (no complete HTTP answer). `bytesDelivered` tells how much a chunk handler
/// already saw, `etag` which version of the object it was, so a retry can resume from there.
struct CurlFailure: Error {
    var code: Int
    var message: String
    var retryable: Bool
    var bytesDelivered: Int
    var etag: String?
}

/// A small pool of curl easy handles: a handle keeps its connection alive between requests, and
/// each request borrows one so concurrent requests never share a handle.
final class CurlClient: @unchecked Sendable {
    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    private let lock = NSLock()
    private var idle: [CurlHandle] = []
    private let maxIdle: Int
    private let connectTimeout: Int
    private let lowSpeedTime: Int
    private var opened = 0

    /// How many new connections requests had to open (the rest reused a kept-alive one).
    var connectionsOpened: Int {
        lock.lock()
        defer { lock.unlock() }
        return opened
    }

    init(maxIdle: Int = 16, connectTimeoutSeconds: Int = 10, stallTimeoutSeconds: Int = 60) {
        _ = Self.globalInit
        self.maxIdle = maxIdle
        self.connectTimeout = connectTimeoutSeconds
        self.lowSpeedTime = stallTimeoutSeconds
    }

    /// Performs the request. A 2xx body goes to `sink` when one is given; other answers are buffered.
    /// `resumeOffset` is where a ranged request starts: if the server ignores the range and sends
    /// the whole object (200), that many bytes are skipped so the sink never sees data twice.
    func perform(
        _ request: HTTPRequest, sink: ((UnsafeRawBufferPointer) throws -> Void)?, resumeOffset: Int = 0,
        cancellation: CancellationFlag
    ) throws -> HTTPResponse {
        let handle = checkOut()
        defer { checkIn(handle) }
        let transfer = CurlTransfer(
            upload: request.body, sink: sink, resumeOffset: resumeOffset, cancellation: cancellation)
        let raw = handle.raw
        curl_easy_reset(raw)

        var headerList: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // No "Expect: 100-continue" round trip, no curl-chosen content type.
        headerList = curl_slist_append(headerList, "Expect:")
        headerList = curl_slist_append(headerList, "Accept:")
        defer { curl_slist_free_all(headerList) }

        _ = CCurl_setopt_string(raw, CURLOPT_URL, request.url)
        _ = CCurl_setopt_slist(raw, CURLOPT_HTTPHEADER, headerList)
        _ = CCurl_setopt_long(raw, CURLOPT_NOSIGNAL, 1)
        _ = CCurl_setopt_long(raw, CURLOPT_PATH_AS_IS, 1)
        _ = CCurl_setopt_long(raw, CURLOPT_TCP_KEEPALIVE, 1)
        _ = CCurl_setopt_long(raw, CURLOPT_CONNECTTIMEOUT, connectTimeout)
        // Abort a transfer that moves less than 1 byte/s for lowSpeedTime seconds.
        _ = CCurl_setopt_long(raw, CURLOPT_LOW_SPEED_LIMIT, 1)
        _ = CCurl_setopt_long(raw, CURLOPT_LOW_SPEED_TIME, lowSpeedTime)
        _ = CCurl_setopt_callback(raw, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        _ = CCurl_setopt_callback(raw, CURLOPT_WRITEFUNCTION, curlWriteCallback)
        // The progress callback is how a cancelled task stops a transfer in flight.
        _ = CCurl_setopt_long(raw, CURLOPT_NOPROGRESS, 0)
        _ = CCurl_setopt_progress(raw, curlProgressCallback)

        switch request.method {
        case "GET":
            _ = CCurl_setopt_long(raw, CURLOPT_HTTPGET, 1)
        case "HEAD":
            _ = CCurl_setopt_long(raw, CURLOPT_NOBODY, 1)
        default:
            _ = CCurl_setopt_string(raw, CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body {
            _ = CCurl_setopt_long(raw, CURLOPT_UPLOAD, 1)
            _ = CCurl_setopt_offset(raw, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.count))
            _ = CCurl_setopt_callback(raw, CURLOPT_READFUNCTION, curlReadCallback)
        }

        let code: CURLcode = withExtendedLifetime(transfer) {
            let context = Unmanaged.passUnretained(transfer).toOpaque()
            _ = CCurl_setopt_pointer(raw, CURLOPT_HEADERDATA, context)
            _ = CCurl_setopt_pointer(raw, CURLOPT_WRITEDATA, context)
            _ = CCurl_setopt_pointer(raw, CURLOPT_READDATA, context)
            _ = CCurl_setopt_pointer(raw, CURLOPT_XFERINFODATA, context)
            return curl_easy_perform(raw)
        }
        if let sinkError = transfer.sinkError { throw sinkError }
        if code == CURLE_ABORTED_BY_CALLBACK && transfer.cancellation.isCancelled {
            handle.discard = true
            throw CancellationError()
        }
        guard code == CURLE_OK else {
            let retryable = ![CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_WRITE_ERROR, CURLE_READ_ERROR]
                .contains(code)
            // A broken connection must not be reused.
            handle.discard = true
            throw CurlFailure(
                code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code)), retryable: retryable,
                bytesDelivered: transfer.delivered,
                etag: (200..<300).contains(transfer.status) ? transfer.headers["etag"] : nil)
        }
        var status = 0
        _ = CCurl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &status)
        var connects = 0
        _ = CCurl_getinfo_long(raw, CURLINFO_NUM_CONNECTS, &connects)
        if connects > 0 {
            lock.lock()
            opened += connects
            lock.unlock()
        }
        return HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
    }

    private func checkOut() -> CurlHandle {
        lock.lock()
        let handle = idle.popLast()
        lock.unlock()
        return handle ?? CurlHandle()
    }

    private func checkIn(_ handle: CurlHandle) {
        guard !handle.discard else { return }
        lock.lock()
        if idle.count < maxIdle { idle.append(handle) }
        lock.unlock()
    }
}

/// Owns one curl easy handle.
final class CurlHandle {
    let raw: UnsafeMutableRawPointer
    var discard = false

    init() {
        guard let raw = curl_easy_init() else { fatalError("curl_easy_init failed (out of memory)") }
        self.raw = raw
    }

    deinit { curl_easy_cleanup(raw) }
}

/// The state of one transfer, reached from curl's callbacks through their user-data pointer.
final class CurlTransfer {
    let upload: UnsafeRawBufferPointer?
    var uploadOffset = 0
    var status = 0
    var headers: [String: String] = [:]
    var body: [UInt8] = []
    let sink: ((UnsafeRawBufferPointer) throws -> Void)?
    var sinkError: (any Error)?
    var delivered = 0
    let resumeOffset: Int
    /// Bytes of the answer still to drop before the sink sees any.
    var skip = 0
    let cancellation: CancellationFlag

    init(
        upload: UnsafeRawBufferPointer?, sink: ((UnsafeRawBufferPointer) throws -> Void)?, resumeOffset: Int,
        cancellation: CancellationFlag
    ) {
        self.upload = upload
        self.sink = sink
        self.resumeOffset = resumeOffset
        self.cancellation = cancellation
    }
}

private func curlHeaderCallback(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    let length = size * count
    guard let buffer, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        // A new response (after 100 Continue, say): start over.
        let fields = line.split(separator: " ")
        transfer.status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
        transfer.headers = [:]
        transfer.skip = transfer.status == 200 ? transfer.resumeOffset : 0
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        transfer.headers[name] = value
    }
    return length
}

private func curlWriteCallback(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    let length = size * count
    guard let buffer, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    var chunk = UnsafeRawBufferPointer(start: buffer, count: length)
    if let sink = transfer.sink, (200..<300).contains(transfer.status) {
        if transfer.skip > 0 {
            let dropped = min(transfer.skip, chunk.count)
            transfer.skip -= dropped
            chunk = UnsafeRawBufferPointer(rebasing: chunk[dropped...])
            if chunk.isEmpty { return length }
        }
        do {
            try sink(chunk)
            transfer.delivered += chunk.count
        } catch {
            transfer.sinkError = error
            return 0  // makes curl abort the transfer
        }
    } else {
        transfer.body.append(contentsOf: chunk)
    }
    return length
}

private func curlReadCallback(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    guard let upload = transfer.upload, let base = upload.baseAddress else { return 0 }
    let length = min(size * count, upload.count - transfer.uploadOffset)
    if length > 0 {
        UnsafeMutableRawPointer(buffer).copyMemory(from: base + transfer.uploadOffset, byteCount: length)
        transfer.uploadOffset += length
    }
    return length
}

private func curlProgressCallback(
    _ context: UnsafeMutableRawPointer?, _ downloadTotal: curl_off_t, _ downloaded: curl_off_t,
    _ uploadTotal: curl_off_t, _ uploaded: curl_off_t
) -> Int32 {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.cancellation.isCancelled ? 1 : 0
}
