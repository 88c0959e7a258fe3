import CRdKafka
import PinCompression

/// A broker's host and port, as the cluster's metadata names it.
public struct KafkaBrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// One record of a fetched batch, valid only during the call that passes it.
public struct KafkaRecordView {
    public let offset: Int64
    /// Milliseconds since the epoch: the create time, or the log-append time if the topic uses
    /// it; nil if the producer gave none.
    public let timestamp: Int64?
    /// The value's bytes (empty for a null value).
    public let value: UnsafeBufferPointer<UInt8>
}

/// Reads one partition straight from its leader, parsing each fetch response as it arrives.
///
/// librdkafka reads a fetch response whole before it hands out any of its messages, and against
/// a broker that ignores the fetch size limits (the local stack's noida-db answers with
/// everything up to the end of the partition) a response is the whole backlog: a gigabyte for a
/// million pins. This reader holds one record batch at a time instead and reads the socket only
/// as its caller asks for more, so a busy caller makes the broker wait rather than memory grow.
///
/// It speaks plaintext Fetch v4 with record batches of magic 2 (every broker since Kafka 0.11),
/// reads committed records only, and throws ``KafkaError`` for anything else (an older message
/// format, an aborted transaction in range, a broker error): the caller then reads the
/// partition with a librdkafka consumer instead. Discard a reader once it has thrown.
public final class KafkaPartitionReader {
    public let topic: String
    public let partition: Int32
    /// The offset of the next record to pass on.
    public private(set) var nextOffset: Int64
    /// The partition's high watermark as of the last fetch response.
    public private(set) var highWatermark: Int64?

    private let connection: BrokerConnection
    private let maxWait: Duration
    private var correlation: Int32 = 0
    /// A Fetch was sent and its response not yet read.
    private var requestSent = false
    /// Bytes of the current response's record set still unread; nil between responses.
    private var recordBytesLeft: Int?
    /// Bytes of the current response after its record set.
    private var trailingBytes = 0
    private let decompressor = BlockDecompressor()
    private var decompressed: [UInt8] = []

    /// Asked of brokers that honour it; the reader holds one batch at a time either way.
    static let fetchMaxBytes: Int32 = 8 << 20
    static let batchHeaderSize = 61

    public init(
        leader: KafkaBrokerAddress, topic: String, partition: Int32, offset: Int64,
        maxWait: Duration = .milliseconds(500), timeout: Duration = .seconds(30)
    ) throws(KafkaError) {
        self.topic = topic
        self.partition = partition
        self.nextOffset = offset
        self.maxWait = maxWait
        connection = try BrokerConnection(host: leader.host, port: leader.port, timeout: timeout)
    }

    /// Passes the records of the next batches at or after ``nextOffset`` to `body`, fetching
    /// when the last response is used up, until it passed some or the response ended. Returns
    /// how many it passed: 0 when the broker had nothing new (within `maxWait`, if it waits).
    @discardableResult
    public func read(_ body: (KafkaRecordView) throws -> Void) throws -> Int {
        if recordBytesLeft == nil { try fetch() }
        var passed = 0
        while passed == 0, let left = recordBytesLeft {
            if left == 0 {
                try connection.skip(trailingBytes)
                recordBytesLeft = nil
                break
            }
            passed += try readBatch(left: left, body)
        }
        return passed
    }

    /// The record set's next batch: read whole (a partial one at the end is dropped, as the
    /// protocol allows), its records passed on.
    private func readBatch(left: Int, _ body: (KafkaRecordView) throws -> Void) throws -> Int {
        guard left >= Self.batchHeaderSize else {
            try connection.skip(left)
            recordBytesLeft = 0
            return 0
        }
        let prefix = try connection.peek(12)
        let baseOffset = Int64(bigEndian: prefix.loadUnaligned(as: Int64.self))
        let length = Int(Int32(bigEndian: prefix.loadUnaligned(fromByteOffset: 8, as: Int32.self)))
        let total = 12 + length
        guard total >= Self.batchHeaderSize else {
            throw KafkaError(RD_KAFKA_RESP_ERR__BAD_MSG, "\(place(baseOffset)): record batch of \(length) bytes")
        }
        guard total <= left else {
            try connection.skip(left)
            recordBytesLeft = 0
            return 0
        }
        let batch = try connection.peek(total)
        defer {
            connection.consume(total)
            recordBytesLeft = left - total
        }
        let magic = batch.load(fromByteOffset: 16, as: Int8.self)
        guard magic == 2 else {
            throw KafkaError(
                RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED, "\(place(baseOffset)): message format \(magic) (only 2 is read)")
        }
        let attributes = Int16(bigEndian: batch.loadUnaligned(fromByteOffset: 21, as: Int16.self))
        let lastOffset = baseOffset + Int64(Int32(bigEndian: batch.loadUnaligned(fromByteOffset: 23, as: Int32.self)))
        let isControl = attributes & 0x20 != 0
        guard !isControl, lastOffset >= nextOffset else {
            nextOffset = max(nextOffset, lastOffset + 1)
            return 0
        }
        let firstTimestamp = Int64(bigEndian: batch.loadUnaligned(fromByteOffset: 27, as: Int64.self))
        let maxTimestamp = Int64(bigEndian: batch.loadUnaligned(fromByteOffset: 35, as: Int64.self))
        let count = Int(Int32(bigEndian: batch.loadUnaligned(fromByteOffset: 57, as: Int32.self)))
        let records = UnsafeRawBufferPointer(
            start: batch + Self.batchHeaderSize, count: total - Self.batchHeaderSize)
        let timing = RecordTiming(
            base: baseOffset, first: firstTimestamp, logAppendTime: attributes & 0x08 != 0 ? maxTimestamp : nil)
        let codec: BlockDecompressor.Codec?
        switch attributes & 0x07 {
        case 0: codec = nil
        case 1: codec = .gzip
        case 2: codec = .snappy
        case 3: codec = .lz4
        case 4: codec = .zstd
        default:
            throw KafkaError(
                RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED, "\(place(baseOffset)): compression codec \(attributes & 0x07)")
        }
        var passed = 0
        if let codec {
            do {
                try decompressor.decompress(records, codec: codec, into: &decompressed)
            } catch {
                throw KafkaError(RD_KAFKA_RESP_ERR__BAD_COMPRESSION, "\(place(baseOffset)): \(error)")
            }
            passed = try decompressed.withUnsafeBytes { try parse($0, count: count, timing: timing, body) }
        } else {
            passed = try parse(records, count: count, timing: timing, body)
        }
        nextOffset = max(nextOffset, lastOffset + 1)
        return passed
    }

    private struct RecordTiming {
        let base: Int64
        let first: Int64
        let logAppendTime: Int64?
    }

    /// The records of one batch (varint-framed, after the batch header).
    private func parse(
        _ records: UnsafeRawBufferPointer, count: Int, timing: RecordTiming, _ body: (KafkaRecordView) throws -> Void
    ) throws -> Int {
        var reader = VarintReader(bytes: records, place: place(timing.base))
        var passed = 0
        for _ in 0..<count {
            let length = try reader.varint()
            guard length >= 0, length <= records.count - reader.position else {
                throw reader.corrupt("record length \(length)")
            }
            let end = reader.position + Int(length)
            reader.position += 1  // attributes
            let timestampDelta = try reader.varint()
            let offset = timing.base + (try reader.varint())
            try reader.skipBytes(try reader.varint())  // key
            let valueLength = try reader.varint()
            let valueStart = reader.position
            try reader.skipBytes(valueLength)
            guard reader.position <= end else { throw reader.corrupt("record overruns its length") }
            reader.position = end  // headers
            guard offset >= nextOffset else { continue }
            let value =
                valueLength > 0
                ? UnsafeBufferPointer(
                    start: (records.baseAddress! + valueStart).assumingMemoryBound(to: UInt8.self),
                    count: Int(valueLength))
                : UnsafeBufferPointer(start: nil, count: 0)
            let timestamp = timing.logAppendTime ?? timing.first + timestampDelta
            try body(KafkaRecordView(offset: offset, timestamp: timestamp >= 0 ? timestamp : nil, value: value))
            nextOffset = offset + 1
            passed += 1
        }
        return passed
    }

    private func place(_ offset: Int64) -> String { "\(topic)[\(partition)] at offset \(offset)" }

    // MARK: The fetch request

    /// Asks for the next records now, so that the broker prepares and starts sending them
    /// while the caller does something else; ``read(_:)`` then reads them. Does nothing while a
    /// response is being read.
    public func startFetch() throws(KafkaError) {
        guard !requestSent, recordBytesLeft == nil else { return }
        try sendFetch()
    }

    /// Reads the response to a Fetch (sent now unless ``startFetch()`` sent it) up to its record set.
    private func fetch() throws(KafkaError) {
        try startFetch()
        try readResponseHeader()
    }

    /// Sends a Fetch (v4) for ``nextOffset``.
    private func sendFetch() throws(KafkaError) {
        correlation &+= 1
        var request = WireWriter()
        request.int32(0)  // size, patched below
        request.int16(1)  // Fetch
        request.int16(4)
        request.int32(correlation)
        request.string("pinpipe")
        request.int32(-1)  // replica: a consumer
        request.int32(maxWait.kafkaMilliseconds)
        request.int32(1)  // min bytes
        request.int32(Self.fetchMaxBytes)
        request.int8(1)  // read_committed, as librdkafka's default
        request.int32(1)
        request.string(topic)
        request.int32(1)
        request.int32(partition)
        request.int64(nextOffset)
        request.int32(Self.fetchMaxBytes)
        request.patchSize()
        try connection.send(request.bytes)
        requestSent = true
    }

    private func readResponseHeader() throws(KafkaError) {
        requestSent = false
        let header = try connection.peek(8)
        let size = Int(Int32(bigEndian: header.loadUnaligned(as: Int32.self)))
        let answered = Int32(bigEndian: header.loadUnaligned(fromByteOffset: 4, as: Int32.self))
        guard answered == correlation, size >= 8 else {
            throw KafkaError(RD_KAFKA_RESP_ERR__BAD_MSG, "\(connection.address): unexpected fetch response")
        }
        connection.consume(8)
        var consumed = 4  // of `size`: the correlation id
        func take<T: FixedWidthInteger>(_: T.Type) throws(KafkaError) -> T {
            let value = T(bigEndian: try connection.peek(MemoryLayout<T>.size).loadUnaligned(as: T.self))
            connection.consume(MemoryLayout<T>.size)
            consumed += MemoryLayout<T>.size
            return value
        }
        func skip(_ count: Int) throws(KafkaError) {
            try connection.skip(count)
            consumed += count
        }
        _ = try take(Int32.self)  // throttle time
        let topics = try take(Int32.self)
        guard topics > 0 else {
            recordBytesLeft = 0
            trailingBytes = size - consumed
            return
        }
        try skip(Int(try take(Int16.self)))  // the topic's name: the one asked for
        let partitions = try take(Int32.self)
        guard partitions > 0 else {
            recordBytesLeft = 0
            trailingBytes = size - consumed
            return
        }
        _ = try take(Int32.self)  // the partition asked for
        let error = try take(Int16.self)
        highWatermark = try take(Int64.self)
        _ = try take(Int64.self)  // last stable offset
        let aborted = try take(Int32.self)
        if aborted > 0 {
            throw KafkaError(
                RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED,
                "\(place(nextOffset)): \(aborted) aborted transactions in range (read with librdkafka instead)")
        }
        let recordSetSize = max(0, Int(try take(Int32.self)))
        if error != 0 {
            throw KafkaError(rd_kafka_resp_err_t(rawValue: Int32(error)), "fetch \(place(nextOffset))")
        }
        guard consumed + recordSetSize <= size else {
            throw KafkaError(RD_KAFKA_RESP_ERR__BAD_MSG, "\(place(nextOffset)): record set overruns the response")
        }
        recordBytesLeft = recordSetSize
        trailingBytes = size - consumed - recordSetSize
    }
}

/// Big-endian request encoding.
private struct WireWriter {
    var bytes: [UInt8] = []

    mutating func int8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    mutating func int16(_ value: Int16) { append(value) }
    mutating func int32(_ value: Int32) { append(value) }
    mutating func int64(_ value: Int64) { append(value) }

    mutating func string(_ value: String) {
        int16(Int16(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    mutating func patchSize() {
        let size = Int32(bytes.count - 4).bigEndian
        withUnsafeBytes(of: size) { bytes.replaceSubrange(0..<4, with: $0) }
    }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Zigzag varints of a record batch's records.
private struct VarintReader {
    let bytes: UnsafeRawBufferPointer
    let place: String
    var position = 0

    init(bytes: UnsafeRawBufferPointer, place: String) {
        self.bytes = bytes
        self.place = place
    }

    mutating func varint() throws(KafkaError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count, shift < 64 else { throw corrupt("bad varint") }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
    }

    /// Skips a length-prefixed field's bytes (a negative length is a null field).
    mutating func skipBytes(_ length: Int64) throws(KafkaError) {
        guard length > 0 else { return }
        guard length <= bytes.count - position else { throw corrupt("field of \(length) bytes overruns the batch") }
        position += Int(length)
    }

    func corrupt(_ what: String) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR__BAD_MSG, "\(place): corrupt record batch: \(what)")
    }
}
