import Foundation

/// AWS Signature Version 4 for request headers. Pure: the same inputs and date give the same signature.
///
/// Paths are encoded once, segment by segment, keeping `/` (the S3 rule; other services double-encode,
/// which this signer does not do). Query parameters are encoded and sorted.
public struct SigV4Signer: Sendable {
    /// Access key, secret and optional session token. `description` shows only the access key id.
    public struct Credentials: Sendable, CustomStringConvertible {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }

        public var description: String {
            "Credentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>\(sessionToken == nil ? "" : ", sessionToken: <redacted>"))"
        }
    }

    /// What gets signed. `path` is the decoded path (`/bucket/my key.json`); `headers` must include `host`.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or ``SigV4Signer/unsignedPayload``.
        public var payloadHash: String

        public init(
            method: String, path: String, query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)], payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The intermediate strings (for tests and debugging) and the headers to send.
    public struct Signature: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        public var authorization: String
        /// Headers the request must carry besides its own: `x-amz-date`, `x-amz-content-sha256` (S3),
        /// `x-amz-security-token` (with a session token) and `authorization`.
        public var addedHeaders: [(name: String, value: String)]
    }

    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public var credentials: Credentials
    public var region: String
    public var service: String

    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public func sign(_ request: Request, at date: Date) -> Signature {
        let (amzDate, day) = Self.timestamps(date)
        var added: [(name: String, value: String)] = [("x-amz-date", amzDate)]
        // S3 requires the payload hash as a header; the generic test-suite services do not send it.
        if service == "s3" { added.append(("x-amz-content-sha256", request.payloadHash)) }
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }

        // Lower-case names, trimmed values with inner runs of spaces folded; repeated names joined by ",".
        var merged: [String: [String]] = [:]
        for (name, value) in request.headers + added {
            merged[name.lowercased(), default: []].append(Self.canonicalHeaderValue(value))
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")

        let canonicalRequest = [
            request.method,
            Self.encodePath(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Digest.hex(Digest.sha256(Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = Digest.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), data: Array(day.utf8))
        for part in [region, service, "aws4_request"] {
            key = Digest.hmacSHA256(key: key, data: Array(part.utf8))
        }
        let signature = Digest.hex(Digest.hmacSHA256(key: key, data: Array(stringToSign.utf8)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        added.append(("authorization", authorization))
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            authorization: authorization, addedHeaders: added)
    }

    /// `20150830T123600Z` and `20150830` in UTC.
    static func timestamps(_ date: Date) -> (amzDate: String, day: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let day = pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2)
        return (day + "T" + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z", day)
    }

    static func canonicalHeaderValue(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for character in value.trimmingCharacters(in: .whitespaces) {
            if character == " " {
                pendingSpace = true
                continue
            }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            out.append(character)
        }
        return out
    }

    /// The query string in canonical form: each name and value encoded, sorted by name then value.
    /// The same string is sent on the wire, so what is signed is exactly what the server sees.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map {
            (name: uriEncode($0.name, keepSlash: false), value: uriEncode($0.value, keepSlash: false))
        }
        let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// The path with every byte except unreserved characters and `/` percent-encoded.
    public static func encodePath(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, keepSlash: true)
    }

    /// RFC 3986 encoding as SigV4 defines it: `A-Z a-z 0-9 - _ . ~` stay, everything else is `%XX` of its UTF-8 bytes.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            let isLetter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            let isDigit = byte >= 0x30 && byte <= 0x39
            let isMark =
                byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "~")
            if isLetter || isDigit || isMark || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
