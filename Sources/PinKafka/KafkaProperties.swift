/// What librdkafka's properties need beyond librdkafka: which of them hold secrets.
/// (`-X` pairs and properties files are read by the tools' shared options, in PinCore.)
public enum KafkaProperties {
    /// Property names whose values must never appear in messages.
    static func isSecret(_ key: String) -> Bool {
        let lower = key.lowercased()
        return lower.contains("password") || lower.contains("secret") || lower.contains("token")
            || lower.hasSuffix(".key") || lower.contains("key.pem") || lower.contains("jaas")
    }
}
