/// Where a record sat in the input, for deciding which copy of a `unique_id` wins.
struct InputPosition: Sendable, Equatable {
    /// The Kafka offset (partition-local), when the object's name gives the partition's first offset.
    var offset: Int64?
    /// Order of the line in the whole input (objects sorted by key, then line order).
    var sequence: Int64
}

/// Finds, per `unique_id`, the copy with the highest Kafka position: the higher offset when
/// both copies have one, else the one later in the input. Keeps only ids and positions, so
/// memory is bounded by the number of distinct ids, not by the input.
struct Deduplicator {
    private(set) var winners: [String: InputPosition] = [:]
    /// Valid records that lost to another copy of their id.
    private(set) var duplicates = 0

    /// Records a valid record; positions must arrive in increasing `sequence`.
    mutating func offer(_ uniqueID: String, at position: InputPosition) {
        guard let current = winners[uniqueID] else {
            winners[uniqueID] = position
            return
        }
        duplicates += 1
        if let held = current.offset, let offered = position.offset, held > offered { return }
        winners[uniqueID] = position
    }

    func isWinner(_ uniqueID: String, at position: InputPosition) -> Bool {
        winners[uniqueID]?.sequence == position.sequence
    }

    var distinctIDs: Int { winners.count }
}
