extension String {
    /// The text librdkafka wrote into a caller's buffer (error strings, property values): up to the
    /// first NUL, as UTF-8.
    init(cBuffer: [CChar]) {
        self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
