import Foundation
import Testing

@testable import PinObjectStore

/// The small parsers under S3Store: XML answers and dates.
@Suite struct S3ResponseParsingTests {
    @Test func parsesAListing() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated>
            <Contents><Key>a &amp; b/&lt;c&gt; &#233;&#x65E5;.json</Key><LastModified>2024-01-02T03:04:05.500Z</LastModified>
            <ETag>&quot;abc&quot;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass></Contents>
            <Contents><Key>second</Key><Size>0</Size></Contents><Empty/>
            <!-- a comment --><NextContinuationToken>tok/en+=</NextContinuationToken></ListBucketResult>
            """
        let root = try #require(XMLNode.parse(Array(xml.utf8)))
        #expect(root.name == "ListBucketResult")
        let contents = root.children("Contents")
        #expect(contents.count == 2)
        #expect(contents[0].value("Key") == "a & b/<c> é日.json")
        #expect(contents[0].value("ETag").map(S3Store.unquote) == "abc")
        #expect(
            contents[0].value("LastModified").flatMap(HTTPDate.parseISO8601)
                == Date(timeIntervalSince1970: 1_704_164_645.5))
        #expect(root.value("NextContinuationToken") == "tok/en+=")
        #expect(root.child("Empty")?.text == "")
        #expect(XMLNode.parse(Array("<a><b></a>".utf8)) == nil)
    }

    @Test func parsesHeaderDates() {
        #expect(HTTPDate.parseRFC1123("Tue, 02 Jan 2024 03:04:05 GMT") == Date(timeIntervalSince1970: 1_704_164_645))
        #expect(HTTPDate.parseRFC1123("nonsense") == nil)
    }

    @Test func escapesKeysForXML() {
        let key = "a&b<c>\"d'é"
        let root = XMLNode.parse(Array("<Key>\(XMLNode.escape(key))</Key>".utf8))
        #expect(root?.text == key)
    }

    @Test func digests() {
        #expect(Digest.base64(Digest.md5(UnsafeRawBufferPointer(start: nil, count: 0))) == "1B2M2Y8AsgTpgAmY7PhCfg==")
        #expect(Digest.base64(Array("ab".utf8)) == "YWI=")
        #expect(
            Digest.hex(Digest.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
