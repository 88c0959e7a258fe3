import Foundation
import Testing

@testable import PinCore

/// The cleaning rules over every real row, checked against counts taken independently
/// with Foundation's JSON parser and plain string comparisons.
@Suite struct RealSampleTests {
    struct Sample {
        var rows: [NSDictionary] = []
        var pins: [RawPin] = []
        var clean: [CleanPin] = []
        var counts = CleaningCounts()
    }

    static func load(_ name: String) throws -> Sample {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "jsonl", subdirectory: "Fixtures"))
        let fd = open(url.path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var sample = Sample()
        var cleaner = PinCleaner()
        var reader = LineReader(fileDescriptor: fd, name: url.path)
        try reader.forEachLine { _, line in
            sample.rows.append(try JSONSerialization.jsonObject(with: Data(line)) as! NSDictionary)
            let pin = try RawPin(parsing: line)
            sample.pins.append(pin)
            sample.clean.append(cleaner.clean(pin))
        }
        sample.counts = cleaner.counts
        return sample
    }

    private func count(_ rows: [NSDictionary], _ field: String, equalTo values: [String]) -> Int {
        rows.filter { values.contains($0[field] as? String ?? "\u{0}") }.count
    }

    @Test(arguments: ["pins", "pins-api-200"])
    func perRuleCountsMatchAnIndependentCount(name: String) throws {
        let sample = try Self.load(name)
        let rows = sample.rows
        let counts = sample.counts
        #expect(counts.records == rows.count)
        #expect(counts.title.placeholder == count(rows, "title", equalTo: [PinCleaner.titlePlaceholder]))
        #expect(
            counts.description.placeholder == count(rows, "description", equalTo: PinCleaner.descriptionPlaceholders))
        #expect(counts.posterName.placeholder == count(rows, "poster_name", equalTo: ["User Info Error"]))
        #expect(counts.imageSrc.placeholder == count(rows, "image_src", equalTo: ["Image src error."]))
        #expect(counts.tagList.placeholder == count(rows, "tag_list", equalTo: [PinCleaner.tagListPlaceholder]))
        #expect(counts.followerCount.placeholder == count(rows, "follower_count", equalTo: ["User Info Error"]))
        let digitsOnly = rows.filter {
            guard let text = $0["follower_count"] as? String, !text.isEmpty else { return false }
            return text.allSatisfy { "0123456789".contains($0) }
        }.count
        #expect(counts.followerCount.digits == digitsOnly)
        #expect(counts.followerCount.unparseable == 0)
        #expect(
            counts.followerCount.digits + counts.followerCount.suffixed + counts.followerCount.placeholder
                == rows.count)
        let prefixed = rows.filter { ($0["save_location"] as? String ?? "").hasPrefix("Local save in ") }.count
        #expect(counts.saveLocationPrefixRemoved == prefixed)
        // Every cleaned column is null exactly where the raw value was a placeholder.
        for (row, clean) in zip(rows, sample.clean) {
            #expect((clean.title == nil) == [PinCleaner.titlePlaceholder, ""].contains(row["title"] as! String))
            #expect(clean.ind == (row["index"] as! NSNumber).int64Value)
            #expect(clean.downloaded == ((row["downloaded"] as! NSNumber).intValue == 1))
            #expect(clean.saveLocation == "/data/\(clean.category)")
        }
    }

    @Test func knownCountsOfThePinsSample() throws {
        // Anchors: the placeholder counts of shared/data/pins.jsonl as published with the data.
        let counts = try Self.load("pins").counts
        #expect(counts.records == 1_543)
        #expect(counts.title.placeholder == 14)
        #expect(counts.description.placeholder == 130)
        #expect(counts.posterName.placeholder == 14)
        #expect(counts.followerCount.placeholder == 14)
        #expect(counts.followerCount.digits == 253)
        #expect(counts.followerCount.suffixed == 1_276)
        #expect(counts.tagList.placeholder == 21)
        #expect(counts.imageSrc.placeholder == 34)
        #expect(counts.saveLocationPrefixRemoved == 1_543)
    }

    @Test func spotChecksRealRowsFieldByField() throws {
        let sample = try Self.load("pins")
        let first = try #require(sample.clean.first { $0.uniqueID == "55abcd28-bda1-4453-bbcd-1427fb3aa49b" })
        #expect(first.ind == 4)
        #expect(
            first.title
                == "Mexican Artist Uses Unique Technique To Make His Drawings Glow, And The Result Is Mesmerizing")
        #expect(first.followerCount == 2_000_000)
        #expect(first.posterName == "Bored Panda")
        #expect(first.tagList?.count == 9)
        #expect(first.tagList?.first == "Girl Drawing Sketches")
        #expect(first.tagList?.last == "Pencil Drawing Inspiration")
        #expect(first.isImageOrVideo == "image")
        #expect(first.imageSrc == "https://i.pinimg.com/originals/0c/37/fa/0c37fab39da6ded220c3f9ccac8d117c.jpg")
        #expect(first.saveLocation == "/data/art")
        #expect(first.category == "art")
        #expect(first.downloaded == true)

        let second = try #require(sample.clean.first { $0.uniqueID == "70755e3d-dcad-4c71-a215-437a01739a02" })
        #expect(second.ind == 20)
        #expect(second.followerCount == 305)

        let story = try #require(sample.clean.first { $0.uniqueID == "94f1dbbe-d085-400b-ad84-f5cddcac1015" })
        #expect(story.ind == 525)
        #expect(story.title == nil)
        #expect(story.description == nil)
        #expect(story.posterName == nil)
        #expect(story.followerCount == nil)
        #expect(story.tagList == nil)
        #expect(story.imageSrc == nil)
        #expect(story.isImageOrVideo == "multi-video(story page format)")
        #expect(story.downloaded == false)
        #expect(story.saveLocation == "/data/art")
    }

    @Test func theOlderShapeHasNoPosterName() throws {
        let sample = try Self.load("pins-api-200")
        #expect(sample.pins.count == 200)
        #expect(sample.pins.allSatisfy { $0.posterName == nil })
        let first = try #require(sample.clean.first)
        #expect(first.uniqueID == "fbe53c66-3442-4773-b19e-d3ec6f54dddf")
        #expect(first.ind == 7528)
        #expect(first.category == "mens-fashion")
        #expect(first.title == nil)
        #expect(first.saveLocation == "/data/mens-fashion")
    }

    @Test func publishedRecordsRoundTripForEveryRealRow() throws {
        let sample = try Self.load("pins")
        for pin in sample.pins {
            #expect(try RawPin(parsing: pin.jsonBytes()) == pin)
        }
    }
}
