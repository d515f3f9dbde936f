import Testing

@testable import ProfhistKit

@Suite("integer map")
struct IntegerMapTests {
    @Test("agrees with Dictionary on 200k keys: zero, aligned addresses, colliding low bits, through growth")
    func agreesWithDictionary() {
        var map = IntegerMap(capacity: 4)
        var reference: [UInt64: Int32] = [:]
        var generator = SplitMix64(seed: 0x1A7E_5EED)
        var keys: [UInt64] = [0, 1, UInt64.max, 0x7f00_0000_0000]
        // Return addresses of one library: 16-byte aligned, same high bits (the worst case for a weak hash).
        for i in 0..<100_000 { keys.append(0x7f4d_8dea_0000 &+ UInt64(i) &* 16) }
        for _ in 0..<100_000 { keys.append(generator.next()) }
        for key in keys + keys.shuffled(using: &generator) {
            let expected = reference[key] ?? Int32(reference.count)
            let value = map.value(for: key) { Int32(reference.count) }
            #expect(value == expected)
            reference[key] = expected
        }
        #expect(map.count == reference.count)
        for (key, value) in reference { #expect(map[key] == value) }
        #expect(map[0x7f4d_8dea_0008] == nil)
    }
}
