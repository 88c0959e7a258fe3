import Foundation
import Testing

@testable import PinObjectStore

@Suite struct ObjectLocationTests {
    @Test func parsesS3Locations() throws {
        #expect(try ObjectLocation(parsing: "s3://bucket") == .s3(bucket: "bucket", prefix: ""))
        #expect(try ObjectLocation(parsing: "s3://bucket/") == .s3(bucket: "bucket", prefix: ""))
        #expect(try ObjectLocation(parsing: "s3://bucket/raw") == .s3(bucket: "bucket", prefix: "raw/"))
        #expect(try ObjectLocation(parsing: "s3://bucket/raw/topic/") == .s3(bucket: "bucket", prefix: "raw/topic/"))
        #expect(try ObjectLocation(parsing: "s3://bucket/raw").description == "s3://bucket/raw/")
        #expect(try ObjectLocation(parsing: "s3://b/raw").prefix == "raw/")
    }

    @Test func parsesLocalLocations() throws {
        #expect(try ObjectLocation(parsing: "file:///data/raw") == .directory("/data/raw"))
        #expect(try ObjectLocation(parsing: "file:///data/raw/") == .directory("/data/raw"))
        #expect(try ObjectLocation(parsing: "file://localhost/data") == .directory("/data"))
        #expect(try ObjectLocation(parsing: "file:///data/with%20space") == .directory("/data/with space"))
        #expect(try ObjectLocation(parsing: "/tmp/out") == .directory("/tmp/out"))
        let cwd = FileManager.default.currentDirectoryPath
        #expect(try ObjectLocation(parsing: "out/raw") == .directory(cwd + "/out/raw"))
        #expect(try ObjectLocation(parsing: "/tmp/out").prefix == "")
    }

    @Test func rejectsBadLocations() {
        for text in ["", "s3://", "s3:///prefix", "gs://bucket/x", "file://relative/path"] {
            #expect("location \(text)") {
                _ = try ObjectLocation(parsing: text)
            } throws: { ($0 as? ObjectStoreError)?.kind == .invalidLocation }
        }
    }

    @Test func opensTheRightStore() throws {
        let environment = [
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        ]
        let (s3, s3Prefix) = try ObjectStores.open(location: "s3://my-bucket/clean", environment: environment)
        #expect((s3 as? S3Store)?.bucket == "my-bucket")
        #expect((s3 as? S3Store)?.configuration.usePathStyle == true)
        #expect(s3Prefix == "clean/")
        let (local, localPrefix) = try ObjectStores.open(location: "file:///tmp/pinpipe-out", environment: environment)
        #expect((local as? LocalDirectoryStore)?.root == "/tmp/pinpipe-out")
        #expect(localPrefix == "")
        #expect {
            _ = try ObjectStores.open(location: "s3://bucket/x", environment: [:])
        } throws: { ($0 as? ObjectStoreError)?.kind == .missingCredentials }
    }

    @Test func configurationFromEnvironment() throws {
        let configuration = try S3Configuration.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
            "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "http://localhost:9000/",
            "AWS_ENDPOINT_URL": "http://ignored:1",
        ])
        #expect(configuration.region == "eu-west-1")
        #expect(configuration.endpoint == "http://localhost:9000")
        #expect(configuration.usePathStyle)
        #expect(configuration.credentials.sessionToken == "token")
        let aws = try S3Configuration.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "ap-south-1",
        ])
        #expect(aws.endpoint == nil && !aws.usePathStyle && aws.region == "ap-south-1")
        let fallback = try S3Configuration.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
        ])
        #expect(fallback.region == "us-east-1")
    }
}
