/// A cleaned pin (SPEC 1.2). Properties are in the column order of the clean schema.
public struct CleanPin: Sendable, Equatable {
    public var ind: Int64
    public var uniqueID: String
    public var title: String?
    public var description: String?
    public var followerCount: Int64?
    public var posterName: String?
    public var tagList: [String]?
    public var isImageOrVideo: String?
    public var imageSrc: String?
    public var saveLocation: String?
    public var category: String
    public var downloaded: Bool?

    public init(
        ind: Int64, uniqueID: String, title: String? = nil, description: String? = nil, followerCount: Int64? = nil,
        posterName: String? = nil, tagList: [String]? = nil, isImageOrVideo: String? = nil, imageSrc: String? = nil,
        saveLocation: String? = nil, category: String, downloaded: Bool? = nil
    ) {
        self.ind = ind
        self.uniqueID = uniqueID
        self.title = title
        self.description = description
        self.followerCount = followerCount
        self.posterName = posterName
        self.tagList = tagList
        self.isImageOrVideo = isImageOrVideo
        self.imageSrc = imageSrc
        self.saveLocation = saveLocation
        self.category = category
        self.downloaded = downloaded
    }

    /// The clean column names, in order.
    public static let columnNames = [
        "ind", "unique_id", "title", "description", "follower_count", "poster_name", "tag_list",
        "is_image_or_video", "image_src", "save_location", "category", "downloaded",
    ]

    /// Compact JSON with the clean column names, in column order.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONObjectWriter(capacity: 512)
        writer.field("ind", integer: ind)
        writer.field("unique_id", string: uniqueID)
        writer.field("title", string: title)
        writer.field("description", string: description)
        writer.field("follower_count", integer: followerCount)
        writer.field("poster_name", string: posterName)
        writer.field("tag_list", strings: tagList)
        writer.field("is_image_or_video", string: isImageOrVideo)
        writer.field("image_src", string: imageSrc)
        writer.field("save_location", string: saveLocation)
        writer.field("category", string: category)
        writer.field("downloaded", bool: downloaded)
        return writer.finish()
    }
}
