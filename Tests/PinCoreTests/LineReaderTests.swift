import Foundation
import Testing

@testable import PinCore

@Suite struct LineReaderTests {
    private func lines(_ bytes: [UInt8], bufferSize: Int = 16) throws -> [(Int, String)] {
        var reader = LineReader(source: MemorySource(bytes), bufferSize: bufferSize)
        var found: [(Int, String)] = []
        try reader.forEachLine { number, line in found.append((number, String(decoding: line, as: UTF8.self))) }
        return found
    }

    @Test func lineEndingsBlankLinesAndNumbers() throws {
        let found = try lines(Array("a\r\n\nb\n  \r\n\tc\r\n\r\nlast".utf8))
        #expect(found.map(\.0) == [1, 3, 5, 7])
        #expect(found.map(\.1) == ["a", "b", "\tc", "last"])
        #expect(try lines([]).isEmpty)
        #expect(try lines(Array("\n\n".utf8)).isEmpty)
    }

    @Test func linesLongerThanTheBufferGrowIt() throws {
        let long = String(repeating: "x", count: 100_000)
        let found = try lines(Array("s\n\(long)\ne".utf8), bufferSize: 16)
        #expect(found.map(\.1) == ["s", long, "e"])
        #expect(found.map(\.0) == [1, 2, 3])
    }

    @Test func aLineOverTheLimitIsAnError() {
        var reader = LineReader(
            source: MemorySource(Array(String(repeating: "y", count: 1000).utf8)), bufferSize: 16,
            maximumLineLength: 64)
        #expect(throws: LineTooLongError.self) { try reader.forEachLine { _, _ in } }
    }

    @Test func invalidUTF8IsPassedThroughForTheCallerToReport() throws {
        let bytes: [UInt8] = Array("ok\n".utf8) + [0xFF, 0xFE] + Array("\nnext".utf8)
        var reader = LineReader(bytes: bytes)
        var seen: [[UInt8]] = []
        try reader.forEachLine { _, line in seen.append(Array(line)) }
        #expect(seen == [Array("ok".utf8), [0xFF, 0xFE], Array("next".utf8)])
    }

    @Test func readsAFileDescriptorAcrossManyReads() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lines-\(UUID().uuidString).jsonl")
            .path
        var text = ""
        for number in 1...50_000 { text += "{\"n\":\(number)}\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        var reader = LineReader(fileDescriptor: fd, name: path)
        var count = 0
        var lastNumber = 0
        try reader.forEachLine { number, line in
            count += 1
            lastNumber = number
            #expect(String(decoding: line, as: UTF8.self) == "{\"n\":\(number)}")
        }
        #expect(count == 50_000)
        #expect(lastNumber == 50_000)
    }
}
