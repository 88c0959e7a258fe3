/// One row of the pins table: the clean columns (SPEC 1.2, in order) and the Kafka position it came from.
/// Plain values, so this module does not depend on the record types.
public struct PinRow: Sendable, Equatable {
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
    public var kafkaPartition: Int32
    public var kafkaOffset: Int64
    /// The Kafka value the row was cleaned from, stored in the dead-letter table if PostgreSQL cannot store
    /// the row (a NUL byte in a text value).
    public var rawValue: [UInt8]

    public init(
        ind: Int64, uniqueID: String, title: String? = nil, description: String? = nil, followerCount: Int64? = nil,
        posterName: String? = nil, tagList: [String]? = nil, isImageOrVideo: String? = nil, imageSrc: String? = nil,
        saveLocation: String? = nil, category: String, downloaded: Bool? = nil, kafkaPartition: Int32,
        kafkaOffset: Int64, rawValue: [UInt8] = []
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
        self.kafkaPartition = kafkaPartition
        self.kafkaOffset = kafkaOffset
        self.rawValue = rawValue
    }

    /// The pins table's data columns, in the order `write(to:)` appends them.
    static let columns = [
        "ind", "unique_id", "title", "description", "follower_count", "poster_name", "tag_list", "is_image_or_video",
        "image_src", "save_location", "category", "downloaded", "kafka_partition", "kafka_offset",
    ]

    /// The data columns' SQL types in the table `PinSink` creates, as `format_type` names them: what binary
    /// COPY of these rows needs.
    static let columnTypes: [(name: String, type: String)] = [
        ("ind", "bigint"), ("unique_id", "text"), ("title", "text"), ("description", "text"),
        ("follower_count", "bigint"), ("poster_name", "text"), ("tag_list", "text[]"), ("is_image_or_video", "text"),
        ("image_src", "text"), ("save_location", "text"), ("category", "text"), ("downloaded", "boolean"),
        ("kafka_partition", "integer"), ("kafka_offset", "bigint"),
    ]

    func write(to row: inout CopyRow) throws(PostgresError) {
        row.append(ind)
        try row.append(uniqueID)
        try row.append(title)
        try row.append(description)
        row.append(followerCount)
        try row.append(posterName)
        try row.append(tagList)
        try row.append(isImageOrVideo)
        try row.append(imageSrc)
        try row.append(saveLocation)
        try row.append(category)
        row.append(downloaded)
        row.append(kafkaPartition)
        row.append(kafkaOffset)
    }
}
