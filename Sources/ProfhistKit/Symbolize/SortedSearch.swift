/// Binary search in an array sorted by a key: the one search behind address → mapping and address → symbol.
extension Array {
    /// The index of the last element whose key is at most `value`, in an array sorted by that key (ascending);
    /// nil when every key is above `value`.
    @inline(__always)
    func lastIndex<Key: Comparable>(atMost value: Key, by key: (Element) -> Key) -> Int? {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if key(self[mid]) <= value { low = mid + 1 } else { high = mid }
        }
        return low > 0 ? low - 1 : nil
    }
}
