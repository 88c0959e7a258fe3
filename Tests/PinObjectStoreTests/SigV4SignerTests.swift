import Foundation
import Testing

@testable import PinObjectStore

/// Signature V4 against AWS's published examples and against botocore.
@Suite struct SigV4SignerTests {
    /// The credentials and time of AWS's Signature V4 test suite.
    static let suite = SigV4Signer(
        credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    static let host = ("Host", "example.amazonaws.com")

    @Test func getVanilla() {
        let signed = Self.suite.sign(
            .init(method: "GET", path: "/", headers: [Self.host], payloadHash: SigV4Signer.emptyPayloadHash),
            at: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                + SigV4Signer.emptyPayloadHash)
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        )
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
        #expect(signed.addedHeaders.map(\.name) == ["x-amz-date", "authorization"])
    }

    @Test func getVanillaQueryOrderKeyCase() {
        let signed = Self.suite.sign(
            .init(
                method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: [Self.host],
                payloadHash: SigV4Signer.emptyPayloadHash), at: Self.suiteDate)
        #expect(
            signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2]
                == "Param1=value1&Param2=value2")
        #expect(signed.stringToSign.hasSuffix("816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"))
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func postVanilla() {
        let signed = Self.suite.sign(
            .init(method: "POST", path: "/", headers: [Self.host], payloadHash: SigV4Signer.emptyPayloadHash),
            at: Self.suiteDate)
        #expect(signed.signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    @Test func postXWWWFormURLEncoded() {
        let payloadHash = Digest.hex(Digest.sha256(Array("Param1=value1".utf8)))
        #expect(payloadHash == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        let signed = Self.suite.sign(
            .init(
                method: "POST", path: "/", headers: [("Content-Type", "application/x-www-form-urlencoded"), Self.host],
                payloadHash: payloadHash), at: Self.suiteDate)
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        )
    }

    @Test func getHeaderValueTrim() {
        let signed = Self.suite.sign(
            .init(
                method: "GET", path: "/",
                headers: [Self.host, ("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
                payloadHash: SigV4Signer.emptyPayloadHash), at: Self.suiteDate)
        #expect(signed.canonicalRequest.contains("my-header1:value1\nmy-header2:\"a b c\"\n"))
        #expect(signed.signature == "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")
    }

    /// The "GET object" example of the S3 API reference (Authenticating requests: AWS Signature V4).
    @Test func s3ReferenceGetObject() {
        let signer = SigV4Signer(
            credentials: .init(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1")
        let signed = signer.sign(
            .init(
                method: "GET", path: "/test.txt",
                headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                payloadHash: SigV4Signer.emptyPayloadHash),
            at: Date(timeIntervalSince1970: 1_369_353_600))  // 20130524T000000Z
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test func sessionTokenIsSignedAndSent() {
        var signer = Self.suite
        signer.credentials.sessionToken = "TOKEN/with+chars="
        let signed = signer.sign(
            .init(method: "GET", path: "/", headers: [Self.host], payloadHash: SigV4Signer.emptyPayloadHash),
            at: Self.suiteDate)
        #expect(signed.canonicalRequest.contains("x-amz-security-token:TOKEN/with+chars=\n"))
        #expect(signed.authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"))
        #expect(signed.addedHeaders.contains { $0.name == "x-amz-security-token" && $0.value == "TOKEN/with+chars=" })
    }

    @Test func uriEncoding() {
        #expect(SigV4Signer.encodePath("/b/a b/ü+=$~.json") == "/b/a%20b/%C3%BC%2B%3D%24~.json")
        #expect(SigV4Signer.encodePath("/b//double/") == "/b//double/")
        #expect(SigV4Signer.uriEncode("a/b c", keepSlash: false) == "a%2Fb%20c")
        #expect(
            SigV4Signer.canonicalQuery([("prefix", "x/y z"), ("list-type", "2"), ("a", "2"), ("a", "1")])
                == "a=1&a=2&list-type=2&prefix=x%2Fy%20z")
    }

    @Test func credentialsDescriptionHidesSecrets() {
        let credentials = SigV4Signer.Credentials(
            accessKeyID: "AKID", secretAccessKey: "s3cr3t-key", sessionToken: "t0ken")
        let text = "\(credentials) \(S3Configuration(credentials: credentials))"
        #expect(text.contains("AKID"))
        #expect(!text.contains("s3cr3t-key"))
        #expect(!text.contains("t0ken"))
    }

    // MARK: botocore

    struct BotocoreCase {
        var method: String
        var key: String?
        var query: [(String, String)] = []
        var headers: [(String, String)] = []
        var body = ""
        var token: String?
        var unsigned = false
    }

    /// S3 requests signed here and by botocore's S3SigV4Auth (run as a subprocess) must agree,
    /// for the path sent and for the Authorization header.
    @Test func matchesBotocore() throws {
        let cases: [BotocoreCase] = [
            .init(
                method: "GET", key: nil,
                query: [
                    ("list-type", "2"), ("prefix", "raw/topic/dt=2024-01-01/"),
                    ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="),
                ]),
            .init(method: "GET", key: "raw/pinterest_topic/dt=2024-01-01/pinterest_topic+0+00000000000000000042.jsonl"),
            .init(
                method: "PUT", key: "clean/dt=2024-01-01/part-00000.parquet",
                headers: [("Content-Type", "application/vnd.apache.parquet")], body: "PAR1 some bytes PAR1"),
            .init(method: "PUT", key: "unsigned/payload.json", body: "{\"a\":1}", unsigned: true),
            .init(method: "HEAD", key: "with/session-token.json", token: "FQoGZXIvYXdzEXAMPLE//token+value="),
            .init(method: "GET", key: "ünïcødé/日本語 key.json"),
            .init(method: "PUT", key: "reserved/a b+c=d&e;f:g@h$i,j!k'l(m)n*o~p%q.txt", body: "x"),
            .init(method: "DELETE", key: "dir//double/slash"),
            .init(
                method: "POST", key: "big.bin",
                query: [("uploadId", "VXBsb2FkIElEIGZvciBlbHZpbmc+/=="), ("partNumber", "3")], body: ""),
            .init(
                method: "POST", key: nil, query: [("delete", "")],
                headers: [("Content-Type", "application/xml"), ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
                body: "<Delete><Object><Key>a</Key></Object></Delete>"),
        ]
        let endpoint = "http://127.0.0.1:19000"
        let host = "127.0.0.1:19000"
        let bucket = "pinpipe-bucket"
        let timestamp = "20240102T030405Z"
        let date = Date(timeIntervalSince1970: 1_704_164_645)
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

        var input: [[String: Any]] = []
        for item in cases {
            var json: [String: Any] = [
                "method": item.method, "endpoint": endpoint, "bucket": bucket,
                "params": item.query.map { [$0.0, $0.1] },
                "headers": Dictionary(uniqueKeysWithValues: item.headers), "body": item.body,
                "access_key": "AKIDEXAMPLE",
                "secret_key": secret, "region": "eu-west-1", "timestamp": timestamp, "unsigned": item.unsigned,
            ]
            json["key"] = item.key
            json["token"] = item.token
            input.append(json)
        }
        let results = try Self.runBotocore(JSONSerialization.data(withJSONObject: input))
        #expect(results.count == cases.count)

        for (item, expected) in zip(cases, results) {
            let path = "/" + bucket + (item.key.map { "/" + $0 } ?? "")
            let signer = SigV4Signer(
                credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret, sessionToken: item.token),
                region: "eu-west-1")
            let payloadHash =
                item.unsigned ? SigV4Signer.unsignedPayload : Digest.hex(Digest.sha256(Array(item.body.utf8)))
            let signed = signer.sign(
                .init(
                    method: item.method, path: path, query: item.query.map { (name: $0.0, value: $0.1) },
                    headers: [("host", host)] + item.headers.map { (name: $0.0, value: $0.1) }, payloadHash: payloadHash
                ),
                at: date)
            #expect(SigV4Signer.encodePath(path) == expected["path"], "path of \(item.method) \(item.key ?? "")")
            #expect(
                signed.authorization == expected["authorization"], "authorization of \(item.method) \(item.key ?? "")")
        }
    }

    static func runBotocore(_ input: Data) throws -> [[String: String]] {
        let process = TestPython.process(script: "sign_with_botocore.py")
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "sign_with_botocore.py failed")
        return (try JSONSerialization.jsonObject(with: output) as? [[String: String]]) ?? []
    }
}
