import PinPostgres
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The test server, from DATABASE_URL like the tools, else the local stack's fixed address.
enum TestDatabase {
    static var url: String {
        if let value = getenv("DATABASE_URL").map({ String(cString: $0) }), !value.isEmpty { return value }
        return "postgresql://postgres@127.0.0.1:15432/postgres"
    }

    static func connect(options: PostgresConnection.Options = .init()) throws -> PostgresConnection {
        try PostgresConnection(url, options: options)
    }

    /// A table name no other test (or test run) uses.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UInt64.random(in: 0..<UInt64.max) % 1_000_000_000_000)"
    }

    /// `url` with extra query parameters (libpq URLs accept any conninfo keyword there).
    static func url(adding query: String) -> String {
        url + (url.contains("?") ? "&" : "?") + query
    }
}

/// All PostgreSQL tests run one at a time: one of them changes PG* environment variables, which is not
/// safe while another thread reads the environment.
@Suite(.serialized) struct PinPostgresTests {}
