extension Array where Element == UInt8 {
    /// `withUnsafeBytes` keeping the typed error, which its `rethrows` loses.
    func withTypedBytes<R>(_ body: (UnsafeRawBufferPointer) throws(KafkaError) -> R) throws(KafkaError) -> R {
        try withUnsafeBytes { bytes in Result { () throws(KafkaError) in try body(bytes) } }.get()
    }
}

extension Optional where Wrapped == [UInt8] {
    /// The bytes of an optional array, nil when there is none.
    func withTypedBytes<R>(_ body: (UnsafeRawBufferPointer?) throws(KafkaError) -> R) throws(KafkaError) -> R {
        guard let self else { return try body(nil) }
        return try self.withTypedBytes { (bytes) throws(KafkaError) in try body(bytes) }
    }
}
