import Foundation
import PinCore
import PinKafka
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// pin-api run as a user runs it, against a real broker.
@Suite(.serialized) struct PinAPITests {
    /// Starts pin-api on a free port and returns it with its base URL.
    static func startAPI(topic: String, brokers: String = stackBrokers, extra: [String] = []) throws -> (
        ToolProcess, URL
    ) {
        let api = try ToolProcess(
            "pin-api", ["--port", "0", "--brokers", brokers, "--topic", topic, "--no-access-log"] + extra)
        let line = try api.waitForLog("listening on http://")
        let address = line.components(separatedBy: "http://")[1].split(separator: " ")[0]
        return (api, URL(string: "http://\(address)")!)
    }

    struct Reply {
        var status: Int
        var body: String
        var headers: [String: String]

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
    }

    static func request(
        _ base: URL, _ path: String, method: String = "GET", body: String? = nil, token: String? = nil
    ) async throws -> Reply {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        request.timeoutInterval = 30
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            headers[String(describing: key).lowercased()] = String(describing: value)
        }
        return Reply(status: http.statusCode, body: String(decoding: data, as: UTF8.self), headers: headers)
    }

    static let samplePins: [RawPin] = {
        try! SampleRecords.load(path: projectRoot.appendingPathComponent("Tests/PinCoreTests/Fixtures/pins.jsonl").path)
    }()

    static func text(_ pin: RawPin) -> String { String(decoding: pin.jsonBytes(), as: UTF8.self) }

    /// Every message of `topic`, read from the start by a fresh group.
    static func readTopic(_ topic: String, brokers: String = stackBrokers, expecting count: Int) throws
        -> [KafkaMessage]
    {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: uniqueName("verify"))
        configuration.properties["receive.message.max.bytes"] = "2147483647"
        let consumer = try KafkaConsumer(configuration: configuration)
        try consumer.subscribe(topics: [topic])
        var messages: [KafkaMessage] = []
        let end = ContinuousClock.now + .seconds(60)
        while messages.count < count, ContinuousClock.now < end {
            if let message = try consumer.poll(timeout: .milliseconds(200)) { messages.append(message) }
        }
        // A little longer, to catch anything extra.
        let extraEnd = ContinuousClock.now + .milliseconds(500)
        while ContinuousClock.now < extraEnd {
            if let message = try consumer.poll(timeout: .milliseconds(100)) { messages.append(message) }
        }
        try consumer.close()
        return messages
    }

    @Test func everyStatusCode() async throws {
        let topic = uniqueName("api-status")
        let (api, base) = try Self.startAPI(topic: topic, extra: ["--max-body", "4096"])
        let pin = Self.samplePins[0]

        let ok = try await Self.request(base, "pin/", method: "POST", body: Self.text(pin))
        #expect(ok.status == 200)
        #expect(try RawPin(parsing: Array(ok.body.utf8)) == pin)

        let invalid = try await Self.request(
            base, "pin/", method: "POST", body: #"{"index":"x","unique_id":"nope","title":5}"#)
        #expect(invalid.status == 422)
        let detail = try #require(invalid.json["detail"] as? [[String: Any]])
        #expect(
            detail.map { ($0["loc"] as? [String]) ?? [] } == [
                ["body", "index"], ["body", "unique_id"], ["body", "title"], ["body", "category"],
            ])
        #expect(detail.allSatisfy { $0["msg"] is String && $0["type"] is String })

        let malformed = try await Self.request(base, "pin/", method: "POST", body: #"{"index": 1,"#)
        #expect(malformed.status == 400)
        #expect(malformed.json["detail"] is String)

        let huge = try await Self.request(
            base, "pin/", method: "POST", body: #"{"title":"\#(String(repeating: "x", count: 5000))"}"#)
        #expect(huge.status == 413)

        #expect(try await Self.request(base, "healthz").status == 200)
        var ready = try await Self.request(base, "readyz")
        for _ in 0..<50 where ready.status != 200 {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await Self.request(base, "readyz")
        }
        #expect(ready.status == 200)

        let batch = [Self.text(Self.samplePins[1]), "{not json", Self.text(Self.samplePins[2])].joined(separator: "\n")
        let pins = try await Self.request(base, "pins", method: "POST", body: batch)
        #expect(pins.status == 200)
        #expect(pins.json["accepted"] as? Int == 2)
        #expect(pins.json["rejected"] as? Int == 1)
        let results = try #require(pins.json["results"] as? [[String: Any]])
        #expect(results.map { $0["status"] as? String } == ["accepted", "rejected", "accepted"])
        #expect(results.map { $0["line"] as? Int } == [1, 2, 3])

        let array = "[\(Self.text(Self.samplePins[3])), {\"index\": -1}]"
        let arrayReply = try await Self.request(base, "pins", method: "POST", body: array)
        #expect(arrayReply.json["accepted"] as? Int == 1)
        #expect(arrayReply.json["rejected"] as? Int == 1)

        let metrics = try await Self.request(base, "metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"pinapi_requests_total{route="/pin",status="200"} 1"#))
        #expect(metrics.body.contains(#"pinapi_requests_total{route="/pin",status="422"} 1"#))
        #expect(metrics.body.contains(#"pinapi_records_total{outcome="accepted"} 4"#))
        #expect(metrics.body.contains("pinapi_produce_seconds_count 4"))

        // What the API accepted is exactly what is in the topic, keyed by unique_id.
        let messages = try Self.readTopic(topic, expecting: 4)
        #expect(messages.count == 4)
        let expected = Set([0, 1, 2, 3].map { Self.samplePins[$0].uniqueID })
        #expect(Set(messages.compactMap { $0.key.map { String(decoding: $0, as: UTF8.self) } }) == expected)
        for message in messages {
            let stored = try RawPin(parsing: message.value)
            #expect(String(decoding: message.key ?? [], as: UTF8.self) == stored.uniqueID)
        }

        api.signal(SIGTERM)
        #expect(try api.wait() == 0)
        #expect(api.stderr.contains("producer flushed"))
    }

    @Test func everyAcceptedRecordIsInTheTopicUnderConcurrency() async throws {
        let topic = uniqueName("api-concurrent")
        let (api, base) = try Self.startAPI(topic: topic)
        let pins = Array(Self.samplePins.prefix(600))
        let accepted = try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<24 {
                group.addTask {
                    var ids: [String] = []
                    for pin in pins[worker...].enumerated().filter({ $0.offset % 24 == 0 }).map(\.element) {
                        let reply = try await Self.request(base, "pin/", method: "POST", body: Self.text(pin))
                        if reply.status == 200 { ids.append(pin.uniqueID) }
                    }
                    return ids
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(accepted.count == pins.count)
        let messages = try Self.readTopic(topic, expecting: accepted.count)
        #expect(messages.count == accepted.count)
        let byID = Dictionary(uniqueKeysWithValues: pins.map { ($0.uniqueID, $0) })
        for message in messages {
            let stored = try RawPin(parsing: message.value)
            #expect(byID[stored.uniqueID] == stored)
        }
        api.signal(SIGTERM)
        #expect(try api.wait() == 0)
    }

    @Test func aTokenGuardsTheIngestRoutes() async throws {
        let (api, base) = try Self.startAPI(topic: uniqueName("api-token"), extra: ["--token", "s3cret"])
        let body = Self.text(Self.samplePins[5])
        #expect(try await Self.request(base, "pin/", method: "POST", body: body).status == 401)
        #expect(try await Self.request(base, "pin/", method: "POST", body: body, token: "wrong").status == 401)
        #expect(try await Self.request(base, "pin/", method: "POST", body: body, token: "s3cret").status == 200)
        #expect(try await Self.request(base, "healthz").status == 200)
        api.signal(SIGTERM)
        #expect(try api.wait() == 0)
        #expect(!api.stderr.contains("s3cret"))
    }

    @Test func aBrokerThatStopsGives503AndRecovers() async throws {
        let broker = try ScratchBroker()
        let topic = uniqueName("api-outage")
        let (api, base) = try Self.startAPI(topic: topic, brokers: broker.address, extra: ["--produce-timeout", "2"])
        let first = try await Self.request(base, "pin/", method: "POST", body: Self.text(Self.samplePins[10]))
        #expect(first.status == 200)
        // The broker snapshots about once a second: give it time before pulling the plug.
        try await Task.sleep(for: .seconds(2))
        try broker.stop()

        let down = try await Self.request(base, "pin/", method: "POST", body: Self.text(Self.samplePins[11]))
        #expect(down.status == 503)
        #expect(down.headers["retry-after"] != nil)
        var ready = try await Self.request(base, "readyz")
        for _ in 0..<40 where ready.status != 503 {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await Self.request(base, "readyz")
        }
        #expect(ready.status == 503)

        try broker.start()
        var recovered = 0
        for _ in 0..<30 where recovered == 0 {
            let reply = try await Self.request(base, "pin/", method: "POST", body: Self.text(Self.samplePins[12]))
            if reply.status == 200 { recovered += 1 } else { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(recovered == 1)
        // Every 200 is in the topic; the 503 record may or may not be (it was never confirmed).
        let messages = try Self.readTopic(topic, brokers: broker.address, expecting: 2)
        let ids = Set(messages.compactMap { try? RawPin(parsing: $0.value).uniqueID })
        #expect(ids.contains(Self.samplePins[10].uniqueID))
        #expect(ids.contains(Self.samplePins[12].uniqueID))
        api.signal(SIGTERM)
        #expect(try api.wait() == 0)
    }

    /// A broker that comes back without its data no longer knows the idempotent producer's
    /// sequence: librdkafka raises a fatal error, after which every record fails. /readyz must
    /// say so instead of reporting the broker reachable.
    @Test func aProducerInAFatalStateIsNotReady() async throws {
        let broker = try ScratchBroker()
        let topic = uniqueName("api-fatal")
        let (api, base) = try Self.startAPI(topic: topic, brokers: broker.address, extra: ["--produce-timeout", "3"])
        #expect(
            try await Self.request(base, "pin/", method: "POST", body: Self.text(Self.samplePins[20])).status == 200)
        try await Task.sleep(for: .seconds(2))
        try broker.stop()
        try FileManager.default.removeItem(at: broker.dataDirectory)
        try broker.start()

        var statuses: [Int] = []
        var ready = try await Self.request(base, "readyz")
        for number in 0..<40 where !ready.body.contains("failed for good") {
            let body = Self.text(Self.samplePins[21 + number % 10])
            statuses.append(try await Self.request(base, "pin/", method: "POST", body: body).status)
            try await Task.sleep(for: .milliseconds(250))
            ready = try await Self.request(base, "readyz")
        }
        #expect(ready.status == 503)
        #expect(ready.body.contains("failed for good"))
        #expect(
            try await Self.request(base, "pin/", method: "POST", body: Self.text(Self.samplePins[40])).status == 503)
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 })
        api.signal(SIGTERM)
        _ = try api.wait()
        #expect(api.stderr.contains("failed for good"))
    }
}
