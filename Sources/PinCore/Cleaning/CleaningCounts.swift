/// How often each cleaning rule fired, for reports and summaries.
public struct CleaningCounts: Sendable, Equatable {
    public var records = 0
    public var title = NullingCounts()
    public var description = NullingCounts()
    public var posterName = NullingCounts()
    public var imageSrc = NullingCounts()
    public var followerCount = FollowerCountCounts()
    public var tagList = TagListCounts()
    public var saveLocationPrefixRemoved = 0

    public init() {}

    /// Flat `rule: count` pairs in a stable order, e.g. `title.placeholder_nulled`.
    public func asPairs() -> [(String, Int)] {
        var pairs: [(String, Int)] = [("records", records)]
        for (name, counter) in [
            ("title", title), ("description", description), ("poster_name", posterName), ("image_src", imageSrc),
        ] {
            pairs.append(("\(name).placeholder_nulled", counter.placeholder))
            pairs.append(("\(name).empty_nulled", counter.empty))
        }
        pairs += [
            ("follower_count.digits_parsed", followerCount.digits),
            ("follower_count.suffix_parsed", followerCount.suffixed),
            ("follower_count.integer_kept", followerCount.integer),
            ("follower_count.placeholder_nulled", followerCount.placeholder),
            ("follower_count.empty_nulled", followerCount.empty),
            ("follower_count.unparseable_nulled", followerCount.unparseable),
            ("tag_list.placeholder_nulled", tagList.placeholder),
            ("tag_list.empty_nulled", tagList.empty),
            ("tag_list.split", tagList.split),
            ("save_location.prefix_removed", saveLocationPrefixRemoved),
        ]
        return pairs
    }

    public static func += (total: inout CleaningCounts, other: CleaningCounts) {
        total.records += other.records
        total.title += other.title
        total.description += other.description
        total.posterName += other.posterName
        total.imageSrc += other.imageSrc
        total.followerCount.digits += other.followerCount.digits
        total.followerCount.suffixed += other.followerCount.suffixed
        total.followerCount.integer += other.followerCount.integer
        total.followerCount.placeholder += other.followerCount.placeholder
        total.followerCount.empty += other.followerCount.empty
        total.followerCount.unparseable += other.followerCount.unparseable
        total.tagList.placeholder += other.tagList.placeholder
        total.tagList.empty += other.tagList.empty
        total.tagList.split += other.tagList.split
        total.saveLocationPrefixRemoved += other.saveLocationPrefixRemoved
    }
}

/// A text column whose placeholder and empty values become null.
public struct NullingCounts: Sendable, Equatable {
    public var placeholder = 0
    public var empty = 0

    public static func += (total: inout NullingCounts, other: NullingCounts) {
        total.placeholder += other.placeholder
        total.empty += other.empty
    }
}

public struct FollowerCountCounts: Sendable, Equatable {
    /// `"305"` → 305.
    public var digits = 0
    /// `"10k"`, `"1.5M"`, `"2B"`.
    public var suffixed = 0
    /// Sent as a JSON integer and kept.
    public var integer = 0
    /// `"User Info Error"`.
    public var placeholder = 0
    public var empty = 0
    /// Neither a count nor a known placeholder: nulled and counted as an error.
    public var unparseable = 0
}

public struct TagListCounts: Sendable, Equatable {
    public var placeholder = 0
    public var empty = 0
    public var split = 0
}
