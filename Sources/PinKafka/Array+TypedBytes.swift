extension Array where Element == UInt8 {
    /// `withUnsafeBytes` keeping the typed error (none for a body that cannot throw), which its
    /// `rethrows` loses.
    func withTypedBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { bytes in Result { () throws(E) in try body(bytes) } }.get()
    }
}

extension Optional where Wrapped == [UInt8] {
    /// The bytes of an optional array, nil when there is none.
    func withTypedBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer?) throws(E) -> R) throws(E) -> R {
        guard let self else { return try body(nil) }
        return try self.withTypedBytes { (bytes) throws(E) in try body(bytes) }
    }
}
