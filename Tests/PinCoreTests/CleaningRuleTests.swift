import Testing

@testable import PinCore

private let uuid = "55abcd28-bda1-4453-bbcd-1427fb3aa49b"

private func raw(
    title: String? = nil, description: String? = nil, posterName: String? = nil,
    followerCount: RawPin.FollowerCount? = nil, tagList: String? = nil, imageSrc: String? = nil,
    downloaded: RawPin.Downloaded? = nil, saveLocation: String? = nil
) -> RawPin {
    RawPin(
        index: 7, uniqueID: uuid, category: "art", title: title, description: description, posterName: posterName,
        followerCount: followerCount, tagList: tagList, isImageOrVideo: "image", imageSrc: imageSrc,
        downloaded: downloaded, saveLocation: saveLocation)
}

private func cleanFollowers(_ text: String) -> (Int64?, CleaningCounts) {
    var cleaner = PinCleaner()
    let clean = cleaner.clean(raw(followerCount: .text(text)))
    return (clean.followerCount, cleaner.counts)
}

@Suite struct FollowerCountRules {
    @Test(
        arguments: [
            ("0", 0), ("305", 305), ("007", 7), ("10k", 10_000), ("2M", 2_000_000), ("3B", 3_000_000_000),
            ("1.5k", 1_500), ("1.2345k", 1_235), ("1.2344k", 1_234), ("0.5k", 500), ("0.0005k", 1), ("0.0004k", 0),
            ("2.5M", 2_500_000), ("1.0000005M", 1_000_001), ("9.999999999B", 9_999_999_999),
            ("9.9999999995B", 10_000_000_000),
            ("9223372036854775807", Int64.max), ("9223372036854775.807k", Int64.max),
        ] as [(String, Int64)])
    func parses(text: String, expected: Int64) {
        let (value, counts) = cleanFollowers(text)
        #expect(value == expected)
        #expect(counts.followerCount.unparseable == 0)
        #expect(counts.followerCount.digits + counts.followerCount.suffixed == 1)
    }

    @Test(arguments: [
        "1.5", " 305", "305 ", "1K", "1m", "-5", "+5", "k", ".5k", "1.k", "1.5.5k", "1,000", "10kk", "2 M",
        "9223372036854775808", "9223372036854775.808k", "99999999999999999999B", "١٢٣", "½k",
    ])
    func rejects(text: String) {
        let (value, counts) = cleanFollowers(text)
        #expect(value == nil)
        #expect(counts.followerCount.unparseable == 1)
    }

    @Test func placeholderAndEmptyAreNullButNotErrors() {
        let (placeholder, placeholderCounts) = cleanFollowers("User Info Error")
        #expect(placeholder == nil)
        #expect(placeholderCounts.followerCount.placeholder == 1)
        #expect(placeholderCounts.followerCount.unparseable == 0)
        let (empty, emptyCounts) = cleanFollowers("")
        #expect(empty == nil)
        #expect(emptyCounts.followerCount.empty == 1)
        // Case-sensitive and untrimmed: a near miss is an unparseable value.
        let (nearMiss, nearMissCounts) = cleanFollowers("user info error")
        #expect(nearMiss == nil)
        #expect(nearMissCounts.followerCount.unparseable == 1)
    }

    @Test func integersAreKept() {
        var cleaner = PinCleaner()
        #expect(cleaner.clean(raw(followerCount: .number(42))).followerCount == 42)
        #expect(cleaner.clean(raw(followerCount: .number(-3))).followerCount == nil)
        #expect(cleaner.clean(raw(followerCount: nil)).followerCount == nil)
        #expect(cleaner.counts.followerCount.integer == 1)
        #expect(cleaner.counts.followerCount.unparseable == 1)
    }
}

@Suite struct TextPlaceholderRules {
    @Test func title() {
        var cleaner = PinCleaner()
        #expect(cleaner.clean(raw(title: "No Title Data Available")).title == nil)
        #expect(cleaner.clean(raw(title: "")).title == nil)
        #expect(cleaner.clean(raw(title: " No Title Data Available")).title == " No Title Data Available")
        #expect(cleaner.clean(raw(title: "no title data available")).title == "no title data available")
        #expect(cleaner.clean(raw(title: "A title")).title == "A title")
        #expect(cleaner.clean(raw(title: nil)).title == nil)
        #expect(cleaner.counts.title == NullingCounts(placeholder: 1, empty: 1))
    }

    @Test(arguments: ["No description available Story format", "No description available", "Untitled", ""])
    func descriptionPlaceholders(text: String) {
        var cleaner = PinCleaner()
        #expect(cleaner.clean(raw(description: text)).description == nil)
        #expect(cleaner.counts.description.placeholder + cleaner.counts.description.empty == 1)
    }

    @Test func descriptionNearMissesStay() {
        var cleaner = PinCleaner()
        for text in ["Untitled ", "untitled", "No description available.", "No Title Data Available"] {
            #expect(cleaner.clean(raw(description: text)).description == text)
        }
        #expect(cleaner.counts.description == NullingCounts())
    }

    @Test func posterNameAndImageSrc() {
        var cleaner = PinCleaner()
        let nulled = cleaner.clean(raw(posterName: "User Info Error", imageSrc: "Image src error."))
        #expect(nulled.posterName == nil)
        #expect(nulled.imageSrc == nil)
        let empty = cleaner.clean(raw(posterName: "", imageSrc: ""))
        #expect(empty.posterName == nil)
        #expect(empty.imageSrc == nil)
        let kept = cleaner.clean(raw(posterName: "Bored Panda", imageSrc: "Image src error"))
        #expect(kept.posterName == "Bored Panda")
        #expect(kept.imageSrc == "Image src error")
        #expect(cleaner.counts.posterName == NullingCounts(placeholder: 1, empty: 1))
        #expect(cleaner.counts.imageSrc == NullingCounts(placeholder: 1, empty: 1))
    }
}

@Suite struct TagListRules {
    @Test(
        arguments: [
            ("a,b,c", ["a", "b", "c"]),
            (" a , b\t,\nc ", ["a", "b", "c"]),
            ("a,,b,", ["a", "b"]),
            (",", []),
            (" , ", []),
            ("single", ["single"]),
            ("Home Decor,Décor d'été, 日本 ", ["Home Decor", "Décor d'été", "日本"]),
            ("\u{00A0}x\u{00A0}", ["\u{00A0}x\u{00A0}"]),
            // Commas found a word at a time: at every place in a word, across words, none in the last.
            (
                "Beauty Tips and Tricks,Makeup Looks 2024,  Skincare Routine For Beginners ,x",
                [
                    "Beauty Tips and Tricks", "Makeup Looks 2024", "Skincare Routine For Beginners", "x",
                ]
            ),
            (
                "1234567,12345678,123456789,,,,,,,,1234567890123456,",
                [
                    "1234567", "12345678", "123456789", "1234567890123456",
                ]
            ),
            (",,,,,,,,,,,,,,,,", []),
            (
                "a,b,c,d,e,f,g,h,i,jjjjjjjjjjjjjjjjj",
                ["a", "b", "c", "d", "e", "f", "g", "h", "i", "jjjjjjjjjjjjjjjjj"]
            ),
        ] as [(String, [String])])
    func splits(text: String, expected: [String]) {
        var cleaner = PinCleaner()
        #expect(cleaner.clean(raw(tagList: text)).tagList == expected)
        #expect(cleaner.counts.tagList.split == 1)
    }

    @Test func placeholderAndEmptyAreNull() {
        var cleaner = PinCleaner()
        #expect(cleaner.clean(raw(tagList: "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e")).tagList == nil)
        #expect(cleaner.clean(raw(tagList: "")).tagList == nil)
        #expect(cleaner.clean(raw(tagList: nil)).tagList == nil)
        #expect(cleaner.counts.tagList.placeholder == 1)
        #expect(cleaner.counts.tagList.empty == 1)
    }
}

@Suite struct OtherRules {
    @Test func saveLocationLosesThePrefixOnce() {
        var cleaner = PinCleaner()
        #expect(cleaner.clean(raw(saveLocation: "Local save in /data/art")).saveLocation == "/data/art")
        #expect(
            cleaner.clean(raw(saveLocation: "Local save in Local save in /x")).saveLocation == "Local save in /x")
        #expect(cleaner.clean(raw(saveLocation: "")).saveLocation == "")
        #expect(cleaner.clean(raw(saveLocation: "/data/art")).saveLocation == "/data/art")
        #expect(cleaner.clean(raw(saveLocation: "local save in /x")).saveLocation == "local save in /x")
        #expect(cleaner.clean(raw(saveLocation: nil)).saveLocation == nil)
        #expect(cleaner.counts.saveLocationPrefixRemoved == 2)
    }

    @Test func downloadedAndPassThroughColumns() {
        var cleaner = PinCleaner()
        let clean = cleaner.clean(raw(downloaded: .integer(true)))
        #expect(clean.downloaded == true)
        #expect(clean.ind == 7)
        #expect(clean.uniqueID == uuid)
        #expect(clean.category == "art")
        #expect(clean.isImageOrVideo == "image")
        #expect(cleaner.clean(raw(downloaded: .boolean(false))).downloaded == false)
        #expect(cleaner.clean(raw(downloaded: nil)).downloaded == nil)
    }

    @Test func countsAddUp() {
        var a = PinCleaner()
        _ = a.clean(raw(title: ""))
        var b = PinCleaner()
        _ = b.clean(raw(title: "No Title Data Available", tagList: ","))
        var total = a.counts
        total += b.counts
        #expect(total.records == 2)
        #expect(total.title == NullingCounts(placeholder: 1, empty: 1))
        #expect(total.tagList.split == 1)
        #expect(total.asPairs().first { $0.0 == "title.empty_nulled" }?.1 == 1)
    }

    @Test func cleanJSONHasTheColumnsInOrder() throws {
        var cleaner = PinCleaner()
        let clean = cleaner.clean(raw(title: "T \"q\"", tagList: "a, b", downloaded: .integer(false)))
        let text = String(decoding: clean.jsonBytes(), as: UTF8.self)
        #expect(
            text
                == #"{"ind":7,"unique_id":"\#(uuid)","title":"T \"q\"","description":null,"follower_count":null,"poster_name":null,"tag_list":["a","b"],"is_image_or_video":"image","image_src":null,"save_location":null,"category":"art","downloaded":false}"#
        )
        guard case .object(let object) = try JSONParser.parse(Array(text.utf8)) else {
            Issue.record("not an object")
            return
        }
        #expect(object.members.map(\.key) == CleanPin.columnNames)
    }
}
