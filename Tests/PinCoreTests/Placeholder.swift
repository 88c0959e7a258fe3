import Testing
@testable import PinCore

@Test func exitCodes() { #expect(ExitStatus.dataError.rawValue == 65) }
