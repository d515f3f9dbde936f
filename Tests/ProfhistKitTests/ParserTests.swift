import Testing
@testable import ProfhistKit
@Test func placeholder() { #expect(1 == 1) }
