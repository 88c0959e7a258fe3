extension PostgresConnection {
    /// Settings with sensible defaults; the connection string itself is passed to `init`.
    public struct Options: Sendable {
        /// Seconds to wait for a connection to be established (libpq `connect_timeout`); a value in the
        /// connection string wins.
        public var connectTimeoutSeconds: Int = 10
        /// Reported in `pg_stat_activity` unless the connection string sets `application_name`.
        public var applicationName: String = "pinpipe"
        /// TCP keepalive probes, so that a server that vanished without closing the socket is noticed within
        /// about a minute instead of the system's two hours. Settings in the connection string win.
        public var keepaliveIdleSeconds: Int = 30
        public var keepaliveIntervalSeconds: Int = 10
        public var keepaliveCount: Int = 3
        /// COPY data is buffered and sent in chunks of about this many bytes.
        public var copyChunkSize: Int = 256 * 1024
        /// How often `reconnect()` tries before giving up, and how often `retrying` runs its body.
        public var maxAttempts: Int = 5
        /// First wait between attempts; doubled after each failed attempt up to `maxBackoff`, with jitter.
        public var initialBackoff: Duration = .milliseconds(200)
        public var maxBackoff: Duration = .seconds(5)

        public init() {}
    }
}
