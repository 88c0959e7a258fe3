import Testing

@testable import PinPostgres

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension PinPostgresTests {
    @Suite struct PostgresConnectionTests {
        @Test func parameterisedQueryRoundTripsValues() throws {
            let db = try TestDatabase.connect()
            let table = TestDatabase.uniqueName("params")
            try db.execute("CREATE TABLE \(table) (id bigint, name text, tags text[], ok boolean)")
            defer { _ = try? db.execute("DROP TABLE \(table)") }

            let sneaky = "'); DROP TABLE \(table); --"
            let tags: [String?] = ["a b", "NULL", nil, "{x}", "q\"uote", "back\\slash", "", "c,d", "ü🎉"]
            let insert = try db.execute(
                "INSERT INTO \(table) VALUES ($1, $2, $3, $4), ($5, NULL, $6, $7)",
                [.int(1), .text(sneaky), .textArray(tags), .bool(true), .int(2), .textArray([]), nil])
            #expect(insert.affectedRows == 2)

            let rows = try db.execute("SELECT id, name, tags, ok FROM \(table) WHERE id >= $1 ORDER BY id", [1])
            #expect(rows.columns == ["id", "name", "tags", "ok"])
            #expect(rows.count == 2)
            #expect(try rows[0].int64("id") == 1)
            #expect(try rows[0].string("name") == sneaky)
            #expect(try rows[0].optionalStringArray("tags") == tags)
            #expect(try rows[0].bool("ok") == true)
            #expect(try rows[1].string("name") == nil)
            #expect(try rows[1].stringArray("tags") == [])
            #expect(try rows[1].bool("ok") == nil)
            // The server agrees on the array's shape, not just our own parser.
            let shape = try db.execute(
                "SELECT cardinality(tags) AS n, tags[3] IS NULL AS third_null, tags[2] AS second FROM \(table) WHERE id = 1"
            )
            #expect(try shape[0].int64("n") == Int64(tags.count))
            #expect(try shape[0].bool("third_null") == true)
            #expect(try shape[0].string("second") == "NULL")
        }

        @Test func nulInParameterIsRejectedBeforeSending() throws {
            let db = try TestDatabase.connect()
            #expect(throws: PostgresError.self) { try db.execute("SELECT $1::text", [.text("a\u{0}b")]) }
            #expect(try db.execute("SELECT 1 AS one")[0].int64("one") == 1)
        }

        @Test func transactionCommitsAndRollsBack() throws {
            let db = try TestDatabase.connect()
            let table = TestDatabase.uniqueName("tx")
            try db.execute("CREATE TABLE \(table) (id bigint PRIMARY KEY)")
            defer { _ = try? db.execute("DROP TABLE \(table)") }

            let committed = try db.transaction { tx in
                try tx.execute("INSERT INTO \(table) VALUES (1), (2)").affectedRows
            }
            #expect(committed == 2)

            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try db.transaction { tx in
                    try tx.execute("INSERT INTO \(table) VALUES (3)")
                    throw Boom()
                }
            }
            // A statement error swallowed inside the body must not turn into a silent "successful" commit.
            #expect(throws: PostgresError.self) {
                try db.transaction { tx in
                    try tx.execute("INSERT INTO \(table) VALUES (4)")
                    _ = try? tx.execute("INSERT INTO \(table) VALUES (1)")
                }
            }
            #expect(!db.inTransaction)
            var ids = try db.execute("SELECT id FROM \(table) ORDER BY id").map { try $0.int64("id") }
            #expect(ids == [1, 2])

            // Nested: the inner failure rolls back to its savepoint, the outer work commits.
            try db.transaction { outer in
                try outer.execute("INSERT INTO \(table) VALUES (5)")
                #expect(throws: PostgresError.self) {
                    try outer.transaction { inner in
                        try inner.execute("INSERT INTO \(table) VALUES (6)")
                        try inner.execute("INSERT INTO \(table) VALUES (1)")
                    }
                }
                try outer.transaction { inner in try inner.execute("INSERT INTO \(table) VALUES (7)") }
            }
            ids = try db.execute("SELECT id FROM \(table) ORDER BY id").map { try $0.int64("id") }
            #expect(ids == [1, 2, 5, 7])
        }

        @Test func serverErrorsCarrySQLStateWithoutLeakingValues() throws {
            let db = try TestDatabase.connect()
            let table = TestDatabase.uniqueName("errs")
            try db.execute("CREATE TABLE \(table) (id text PRIMARY KEY)")
            defer { _ = try? db.execute("DROP TABLE \(table)") }
            try db.execute("INSERT INTO \(table) VALUES ($1)", ["secret-row-value"])

            do {
                try db.execute("INSERT INTO \(table) VALUES ($1)", ["secret-row-value"])
                Issue.record("duplicate insert succeeded")
            } catch {
                #expect(error.sqlState == "23505")
                #expect(error.kind == .server)
                #expect(error.severity == "ERROR")
                #expect(!error.isTransient)
                #expect(error.description.contains("23505"))
                #expect(!error.description.contains("secret-row-value"))
                #expect(error.detail?.contains("secret-row-value") == true)
            }

            do {
                try db.execute("SELEC 1")
                Issue.record("syntax error not reported")
            } catch {
                #expect(error.sqlState == "42601")
                #expect(error.message.contains("syntax error"))
            }

            do {
                try db.execute("SELECT $1::bigint", ["not-a-number-secret"])
                Issue.record("bad cast not reported")
            } catch {
                #expect(error.sqlState == "22P02")
                #expect(!error.description.contains("not-a-number-secret"))
            }
            // The connection stays usable after statement errors.
            #expect(db.isHealthy)
            #expect(try db.execute("SELECT 2 AS two")[0].int64("two") == 2)
        }

        @Test func connectionErrorsNeverShowThePassword() throws {
            let password = "Hunter2-Pw-\(Int.random(in: 1000...9999))"
            let attempts = [
                // A database that does not exist on the real server.
                TestDatabase.url(adding: "password=\(password)&dbname=nodb_\(Int.random(in: 1000...9999))"),
                // Nothing listens there.
                "postgresql://postgres:\(password)@127.0.0.1:1/postgres?connect_timeout=2",
                "host=127.0.0.1 port=1 user=postgres password='\(password)' connect_timeout=2",
                // Unparseable strings: libpq quotes the bad fragment.
                "host=127.0.0.1 password='\(password)",
                "postgresql://postgres:\(password)@127.0.0.1:5432/postgres?bogus_option=\(password)",
            ]
            for conninfo in attempts {
                do {
                    _ = try PostgresConnection(conninfo)
                    Issue.record("connected with \(attempts.firstIndex(of: conninfo)!)")
                } catch {
                    // Malformed strings are configuration errors (not worth retrying), the rest connection errors.
                    #expect(
                        error.kind == (attempts.suffix(2).contains(conninfo) ? .configuration : .connection))
                    #expect(error.isConnectionError == (error.kind == .connection))
                    #expect(!error.description.contains("\n"))
                    #expect(!error.message.isEmpty)
                    #expect(!error.description.contains(password), "leaked: \(error.description)")
                    #expect(!error.debugDescription.contains(password), "leaked: \(error.debugDescription)")
                }
            }
        }

        @Test func scrubbingRemovesPasswordsFromMessages() throws {
            let secrets = try ConnectionSecrets(conninfo: "postgresql://u:pa%40ss@h/db")
            #expect(secrets.scrub("failed for pa@ss here") == "failed for *** here")
            #expect(secrets.scrub("see postgres://bob:other@host:5/db now") == "see postgres://bob:***@host:5/db now")
            #expect(secrets.scrub("in password=abc host=x") == "in password=*** host=x")
            #expect(secrets.scrub("in password='a b\\'c' host=x") == "in password=*** host=x")
        }

        @Test func reconnectsAfterTheBackendIsTerminated() throws {
            var options = PostgresConnection.Options()
            options.initialBackoff = .milliseconds(10)
            let db = try TestDatabase.connect(options: options)
            let admin = try TestDatabase.connect()
            let oldPID = db.backendPID
            let terminated = try admin.execute("SELECT pg_terminate_backend($1) AS done", [.int(Int64(oldPID))])
            #expect(try terminated[0].bool("done") == true)

            do {
                try db.execute("SELECT 1")
                Issue.record("query on a terminated connection succeeded")
            } catch {
                #expect(error.isConnectionError)
                #expect(error.isTransient)
            }
            #expect(!db.isHealthy)
            try db.reconnect()
            #expect(db.isHealthy)
            #expect(db.backendPID != oldPID)
            #expect(try db.execute("SELECT 3 AS three")[0].int64("three") == 3)

            // retrying: terminate again, the body's first run fails, the retry reconnects and succeeds.
            _ = try admin.execute("SELECT pg_terminate_backend($1)", [.int(Int64(db.backendPID))])
            var runs = 0
            let value = try db.retrying { connection in
                runs += 1
                return try connection.execute("SELECT 4 AS four")[0].int64("four")
            }
            #expect(value == 4)
            #expect(runs == 2)
        }

        @Test func emptyConninfoUsesLibpqEnvironmentDefaults() throws {
            // Point PG* variables at the test server and connect with "".
            let db = try TestDatabase.connect()
            let info = try db.execute(
                "SELECT current_user AS u, current_database() AS d, inet_server_port()::bigint AS p, host(inet_server_addr()) AS h"
            )[0]
            let names: [String] = ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE"]
            let saved = names.map { name in (name, getenv(name).map { String(cString: $0) }) }
            setenv("PGHOST", try info.string("h") ?? "127.0.0.1", 1)
            setenv("PGPORT", String(try info.int64("p") ?? 5432), 1)
            setenv("PGUSER", try info.string("u") ?? "postgres", 1)
            setenv("PGDATABASE", try info.string("d") ?? "postgres", 1)
            defer {
                for (name, value) in saved {
                    if let value { setenv(name, value, 1) } else { unsetenv(name) }
                }
            }
            // A password in the URL-less case must come from the environment too; this server trusts us.
            let fromEnvironment = try PostgresConnection("")
            #expect(
                try fromEnvironment.execute("SELECT current_database() AS d")[0].string("d") == (try info.string("d")))
        }
    }
}
