/// Where a record sat in the input, for deciding which copy of a `unique_id` wins.
struct InputPosition: Sendable, Equatable {
    /// The Kafka offset (partition-local), when the object's name gives the partition's first offset.
    var offset: Int64?
    /// Order of the line in the whole input (objects sorted by key, then line order).
    var sequence: Int64
}

/// Finds, per `unique_id`, the copy with the highest Kafka position: the higher offset when
/// both copies have one, else the one later in the input. The first pass offers every valid
/// record; the second asks only whether a line lost, so after the first pass the ids can go
/// and what remains is one number per duplicate.
///
/// Ids are UUIDs (the validator sees to that), kept as 128-bit numbers: 32 bytes an id with its
/// position instead of a 36-character string. Ids with upper-case hex digits are different ids
/// from their lower-case twins, as the strings are; they are rare and kept as strings.
struct Deduplicator {
    private struct Held {
        /// `Int64.min` when the object's name gives no offset.
        var offset: Int64
        var sequence: Int64
    }

    private var holders: IDTable
    private var upperCaseHolders: [String: Held] = [:]
    /// Sequences of valid records that lost to another copy of their id.
    private(set) var losers: Set<Int64> = []

    var duplicates: Int { losers.count }

    init(expectedIDs: Int = 0) {
        holders = IDTable(expected: expectedIDs)
    }

    /// A `unique_id` as the deduplicator keeps it.
    enum ID: Sendable, Equatable {
        case number(UInt128)
        case upperCase(String)

        init(_ uniqueID: UnsafeBufferPointer<UInt8>) {
            if let number = Deduplicator.number(uniqueID) {
                self = .number(number)
            } else {
                self = .upperCase(String(decoding: uniqueID, as: UTF8.self))
            }
        }
    }

    /// Records a valid record; positions must arrive in increasing `sequence`.
    mutating func offer(_ uniqueID: UnsafeBufferPointer<UInt8>, at position: InputPosition) {
        offer(ID(uniqueID), at: position)
    }

    mutating func offer(_ uniqueID: ID, at position: InputPosition) {
        let offered = Held(offset: position.offset ?? .min, sequence: position.sequence)
        switch uniqueID {
        case .number(let number): holders.offer(offered, id: number, losers: &losers)
        case .upperCase(let text): Self.offer(offered, key: text, in: &upperCaseHolders, losers: &losers)
        }
    }

    private static func offer<Key: Hashable>(
        _ offered: Held, key: Key, in holders: inout [Key: Held], losers: inout Set<Int64>
    ) {
        guard let held = holders[key] else {
            holders[key] = offered
            return
        }
        holders[key] = winner(held, offered, losers: &losers)
    }

    /// The copy that wins, the loser's sequence noted.
    @inline(__always)
    private static func winner(_ held: Held, _ offered: Held, losers: inout Set<Int64>) -> Held {
        if held.offset != .min, offered.offset != .min, held.offset > offered.offset {
            losers.insert(offered.sequence)
            return held
        }
        losers.insert(held.sequence)
        return offered
    }

    /// Ids as numbers to their winning copy, in open addressing: a 32-byte slot an id, found with a
    /// multiply rather than `Hasher` (the ids are the input's own: nobody gains by making them collide).
    private struct IDTable {
        private struct Slot {
            var id: UInt128
            /// `sequence` 0 marks an empty slot: offered sequences start at 1.
            var held: Held
        }

        private var slots: [Slot]
        private var count = 0

        init(expected: Int) {
            var capacity = 16
            while capacity * 3 < expected * 4 { capacity *= 2 }
            slots = Array(repeating: Slot(id: 0, held: Held(offset: 0, sequence: 0)), count: capacity)
        }

        mutating func offer(_ offered: Held, id: UInt128, losers: inout Set<Int64>) {
            precondition(offered.sequence > 0)
            if (count + 1) * 4 > slots.count * 3 { grow() }
            let mask = slots.count - 1
            var index = Self.hash(id) & mask
            let added: Bool = slots.withUnsafeMutableBufferPointer { slots in
                while true {
                    if slots[index].held.sequence == 0 {
                        slots[index] = Slot(id: id, held: offered)
                        return true
                    }
                    if slots[index].id == id {
                        slots[index].held = winner(slots[index].held, offered, losers: &losers)
                        return false
                    }
                    index = (index + 1) & mask
                }
            }
            if added { count += 1 }
        }

        @inline(__always)
        private static func hash(_ id: UInt128) -> Int {
            var mixed =
                (UInt64(truncatingIfNeeded: id) ^ UInt64(truncatingIfNeeded: id >> 64) &* 0x9E37_79B9_7F4A_7C15)
                &* 0xD6E8_FEB8_6659_FD93
            mixed ^= mixed >> 32
            return Int(truncatingIfNeeded: mixed)
        }

        private mutating func grow() {
            let old = slots
            slots = Array(repeating: Slot(id: 0, held: Held(offset: 0, sequence: 0)), count: old.count * 2)
            let mask = slots.count - 1
            for slot in old where slot.held.sequence != 0 {
                var index = Self.hash(slot.id) & mask
                while slots[index].held.sequence != 0 { index = (index + 1) & mask }
                slots[index] = slot
            }
        }
    }

    /// Frees the ids once every record has been offered.
    mutating func forgetIDs() {
        holders = IDTable(expected: 0)
        upperCaseHolders = [:]
    }

    func isWinner(sequence: Int64) -> Bool {
        losers.isEmpty || !losers.contains(sequence)
    }

    /// The 32 lower-case hex digits of an 8-4-4-4-12 UUID as a number; nil for anything else.
    static func number(_ text: UnsafeBufferPointer<UInt8>) -> UInt128? {
        guard text.count == 36 else { return nil }
        let dash = UInt8(ascii: "-")
        guard text[8] == dash, text[13] == dash, text[18] == dash, text[23] == dash else { return nil }
        // Two 64-bit halves and no branch per digit (hex digits are random, branches would mispredict).
        var high: UInt64 = 0
        var low: UInt64 = 0
        var valid: UInt8 = 1
        var digits = 0
        for position in 0..<36 where position != 8 && position != 13 && position != 18 && position != 23 {
            let byte = text[position]
            let digit = byte &- UInt8(ascii: "0")
            let letter = byte &- UInt8(ascii: "a")
            let isDigit = digit < 10
            valid &= (isDigit ? 1 : 0) | (letter < 6 ? 1 : 0)
            let nibble = UInt64(isDigit ? digit : letter &+ 10)
            if digits < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
            digits += 1
        }
        return valid == 1 ? UInt128(high) << 64 | UInt128(low) : nil
    }
}
