/// A validated raw pin as it arrives at the API and travels through Kafka (SPEC 1.1).
///
/// Unknown fields are dropped. Values keep their received form apart from the coercions
/// FastAPI would make (`index` from a digit string, `downloaded` from `"0"`/`"1"`/`"true"`/`"false"`),
/// and integral JSON numbers (`1.0`, `1e2`, `-0`) are read as the integers they stand for.
public struct RawPin: Sendable, Equatable {
    public var index: Int64
    public var uniqueID: String
    public var category: String
    public var title: String?
    public var description: String?
    public var posterName: String?
    public var followerCount: FollowerCount?
    public var tagList: String?
    public var isImageOrVideo: String?
    public var imageSrc: String?
    public var downloaded: Downloaded?
    public var saveLocation: String?

    /// `follower_count` arrives as text (`"10k"`, `"User Info Error"`) or as a JSON integer.
    public enum FollowerCount: Sendable, Equatable {
        case text(String)
        case number(Int64)
    }

    /// `downloaded` keeps whether it was sent as 0/1 or as a boolean, so the record
    /// published to Kafka says what the client said.
    public enum Downloaded: Sendable, Equatable {
        case integer(Bool)
        case boolean(Bool)

        public var value: Bool {
            switch self {
            case .integer(let flag), .boolean(let flag): flag
            }
        }
    }

    public init(
        index: Int64, uniqueID: String, category: String, title: String? = nil, description: String? = nil,
        posterName: String? = nil, followerCount: FollowerCount? = nil, tagList: String? = nil,
        isImageOrVideo: String? = nil, imageSrc: String? = nil, downloaded: Downloaded? = nil,
        saveLocation: String? = nil
    ) {
        self.index = index
        self.uniqueID = uniqueID
        self.category = category
        self.title = title
        self.description = description
        self.posterName = posterName
        self.followerCount = followerCount
        self.tagList = tagList
        self.isImageOrVideo = isImageOrVideo
        self.imageSrc = imageSrc
        self.downloaded = downloaded
        self.saveLocation = saveLocation
    }

    /// Parses and validates one JSON object.
    public init(parsing json: UnsafeBufferPointer<UInt8>) throws(RecordError) {
        if let pin = Self.parseFast(json) {
            self = pin
            return
        }
        // Something is off, or merely unusual: the full parser and validator say what.
        let value: JSONValue
        do {
            value = try JSONParser.parse(json)
        } catch {
            throw RecordError.malformed(error.description)
        }
        try self.init(validating: value)
    }

    /// Parses and validates one JSON object.
    public init(parsing json: some Collection<UInt8>) throws(RecordError) {
        let parsed: Result<RawPin, RecordError>? = json.withContiguousStorageIfAvailable { buffer in
            Result { () throws(RecordError) in try RawPin(parsing: buffer) }
        }
        if let parsed {
            self = try parsed.get()
        } else {
            self = try Array(json).withUnsafeBufferPointer { buffer throws(RecordError) in try RawPin(parsing: buffer) }
        }
    }

    /// Validates an already parsed JSON value, collecting every bad field.
    public init(validating value: JSONValue) throws(RecordError) {
        guard case .object(let object) = value else {
            throw RecordError(
                kind: .invalid,
                fields: [
                    FieldError(
                        location: [], type: "model_attributes_type",
                        message:
                            "Input should be a valid dictionary or object to extract fields from, got \(value.typeName)"
                    )
                ])
        }
        var validator = FieldValidator(object: object)
        let index = validator.index()
        let uniqueID = validator.uniqueID()
        let title = validator.optionalString("title")
        let description = validator.optionalString("description")
        let posterName = validator.optionalString("poster_name")
        let followerCount = validator.followerCount()
        let tagList = validator.optionalString("tag_list")
        let isImageOrVideo = validator.optionalString("is_image_or_video")
        let imageSrc = validator.optionalString("image_src")
        let downloaded = validator.downloaded()
        let saveLocation = validator.optionalString("save_location")
        let category = validator.category()
        guard validator.errors.isEmpty, let index, let uniqueID, let category else {
            throw RecordError(kind: .invalid, fields: validator.errors)
        }
        self.init(
            index: index, uniqueID: uniqueID, category: category, title: title, description: description,
            posterName: posterName, followerCount: followerCount, tagList: tagList, isImageOrVideo: isImageOrVideo,
            imageSrc: imageSrc, downloaded: downloaded, saveLocation: saveLocation
        )
    }
}
