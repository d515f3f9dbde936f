/// A map from 64-bit integers to small non-negative integers (indices), for the per-address hot loops of an
/// ingest: a 16k-stack dump has half a million addresses, each looked up several times.
///
/// Hand-written because `Dictionary` hashes every key with SipHash through `Hasher`, which made a quarter of the
/// CPU time of an ingest; here a key costs one multiply and, usually, one probe (open addressing, linear
/// probing, load factor at most 1/2). Keys are arbitrary `UInt64`s (0 included); values are `Int32` indices.
struct IntegerMap {
    private var keys: [UInt64]
    /// -1: empty slot.
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        // Fibonacci hashing: the high bits of key * 2^64/φ are well mixed even for aligned addresses.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    subscript(key: UInt64) -> Int32? {
        var index = slot(key)
        while true {
            let value = values[index]
            if value < 0 { return nil }
            if keys[index] == key { return value }
            index = (index + 1) & mask
        }
    }

    /// The value for `key`, inserting `make()` first when the key is new.
    @inline(__always)
    mutating func value(for key: UInt64, orInsert make: () -> Int32) -> Int32 {
        var index = slot(key)
        while true {
            let value = values[index]
            if value < 0 { break }
            if keys[index] == key { return value }
            index = (index + 1) & mask
        }
        let value = make()
        keys[index] = key
        values[index] = value
        count += 1
        if count * 2 > values.count { grow() }
        return value
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = [UInt64](repeating: 0, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        mask = keys.count - 1
        for (key, value) in zip(oldKeys, oldValues) where value >= 0 {
            var index = slot(key)
            while values[index] >= 0 { index = (index + 1) & mask }
            keys[index] = key
            values[index] = value
        }
    }
}
